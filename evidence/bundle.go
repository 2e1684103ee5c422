// Package evidence writes and checks evidence bundles: a directory an auditor can take away
// holding the compliance report, every run its figures count and every run it cites, their
// sign-offs and findings, and a manifest of SHA-256 sums, optionally signed with an ed25519 key.
//
// Bundle layout:
//
//	report.html, report.md, report.json   the compliance report in each format
//	runs/<run id>.json                    the drill.result/v1 document of each run in the period
//	                                      (every run the report's figures count) and of each
//	                                      run the report cites from before it (a last pass)
//	scenarios/<sha256>.yaml               the scenario file each of those runs executed, byte
//	                                      for byte as written (${VAR} unexpanded), named by the
//	                                      scenarioSha256 the runs record; once per distinct
//	                                      text, and absent for a text the history does not
//	                                      hold (imported runs): Verify notes those runs
//	signoffs.json                         sign-offs of those runs, by run id
//	findings.json                         the report's findings
//	history-verify.json                   the history hash chain check at export time
//	manifest.json                         drill.evidence/v1: every file above with its SHA-256
//	manifest.sig, manifest.pub            with a signing key: the ed25519 signature of
//	                                      manifest.json (base64) and the public key (PEM)
//
// Keys are PEM files in the formats OpenSSL uses for ed25519: the private key PKCS #8
// ("PRIVATE KEY"), the public key PKIX ("PUBLIC KEY"). `openssl genpkey -algorithm ed25519`
// makes a usable private key, and `openssl pkey -pubout` its public key.
package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
)

// Schema identifies the manifest format.
const Schema = "drill.evidence/v1"

// File names in a bundle.
const (
	ManifestFile  = "manifest.json"
	SignatureFile = "manifest.sig"
	PublicKeyFile = "manifest.pub"
)

// Manifest lists every file of a bundle with its hash.
type Manifest struct {
	Schema      string    `json:"schema"`
	CreatedAt   time.Time `json:"createdAt"`
	ToolVersion string    `json:"toolVersion"`
	Period      string    `json:"period"`
	System      string    `json:"system,omitempty"` // the --system filter, if any
	// HistoryHead is the head hash of the history chain the bundle was exported from.
	HistoryHead string      `json:"historyHead,omitempty"`
	Files       []FileEntry `json:"files"`
}

// FileEntry is one file of the bundle.
type FileEntry struct {
	Path   string `json:"path"` // slash-separated, relative to the bundle
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Contents is what a bundle holds.
type Contents struct {
	Report *compliance.Report
	Runs   []*result.Result // the runs the report cites
	// PeriodRuns, when set, calls fn with every run the report's figures count (the period,
	// the --system filter), one at a time: the report draws only a few of them, so the bundle
	// is where an auditor finds the rest, and holding 100k runs in memory is not an option.
	PeriodRuns func(fn func(*result.Result) error) error
	// ScenarioText, when set, returns the scenario text stored under a run's scenarioSha256;
	// ok is false when there is none.
	ScenarioText func(sha string) (text []byte, ok bool, err error)
	SignOffs     map[string][]history.SignOff
	Verification history.Verification
	System       string
	CreatedAt    time.Time
}

// Export writes the bundle into dir, which must not exist or be empty, and signs the manifest
// when key is not nil. It returns the manifest.
func Export(dir string, c Contents, key ed25519.PrivateKey) (*Manifest, error) {
	if err := emptyDir(dir); err != nil {
		return nil, fmt.Errorf("export evidence to %s: %w", dir, err)
	}
	m := &Manifest{Schema: Schema, CreatedAt: c.CreatedAt.UTC(), ToolVersion: c.Report.ToolVersion,
		Period: c.Report.Period.Label, System: c.System, HistoryHead: c.Verification.Head}
	write := func(name string, render func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := render(&buf); err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, buf.Bytes(), 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(buf.Bytes())
		m.Files = append(m.Files, FileEntry{Path: name, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(buf.Len())})
		return nil
	}
	jsonOf := func(v any) func(io.Writer) error {
		return func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(v)
		}
	}
	steps := []struct {
		name   string
		render func(io.Writer) error
	}{
		{"report.html", func(w io.Writer) error { return compliance.WriteHTML(w, c.Report) }},
		{"report.md", func(w io.Writer) error { return compliance.WriteMarkdown(w, c.Report) }},
		{"report.json", func(w io.Writer) error { return compliance.WriteJSON(w, c.Report) }},
	}
	signOffs := map[string][]history.SignOff{}
	for _, r := range c.Runs {
		steps = append(steps, struct {
			name   string
			render func(io.Writer) error
		}{"runs/" + safeName(r.RunID) + ".json", jsonOf(r)})
		if so := c.SignOffs[r.RunID]; len(so) > 0 {
			signOffs[r.RunID] = so
		}
	}
	// Written as they come, not queued: a period can hold 100k runs. Only the digests of
	// their scenarios are kept, and the few distinct texts written after.
	written := map[string]bool{}
	shas := map[string]bool{}
	for _, r := range c.Runs {
		written[r.RunID] = true
		shas[r.ScenarioSHA256] = true
	}
	if c.PeriodRuns != nil {
		err := c.PeriodRuns(func(r *result.Result) error {
			if written[r.RunID] {
				return nil
			}
			written[r.RunID] = true
			shas[r.ScenarioSHA256] = true
			if so := c.SignOffs[r.RunID]; len(so) > 0 {
				signOffs[r.RunID] = so
			}
			return write("runs/"+safeName(r.RunID)+".json", jsonOf(r))
		})
		if err != nil {
			return nil, fmt.Errorf("export evidence to %s: runs of the period: %w", dir, err)
		}
	}
	findings := c.Report.Findings
	if findings == nil {
		findings = []compliance.FindingRow{}
	}
	steps = append(steps, []struct {
		name   string
		render func(io.Writer) error
	}{
		{"signoffs.json", jsonOf(signOffs)},
		{"findings.json", jsonOf(findings)},
		{"history-verify.json", jsonOf(c.Verification)},
	}...)
	for _, st := range steps {
		if err := write(st.name, st.render); err != nil {
			return nil, fmt.Errorf("export evidence to %s: %w", dir, err)
		}
	}
	if c.ScenarioText != nil {
		for sha := range shas {
			// A digest is hex in every run drill wrote; anything else names no file.
			if !isSHA256(sha) {
				continue
			}
			text, ok, err := c.ScenarioText(sha)
			if err != nil {
				return nil, fmt.Errorf("export evidence to %s: %w", dir, err)
			}
			if !ok {
				continue
			}
			// Written as held, even a text that no longer hashes to its digest (a history
			// file edited by hand): Verify names it, as the bundle records a broken chain.
			if err := write(scenarioPath(sha), func(w io.Writer) error { _, err := w.Write(text); return err }); err != nil {
				return nil, fmt.Errorf("export evidence to %s: %w", dir, err)
			}
		}
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	doc, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export evidence: encode manifest: %w", err)
	}
	doc = append(doc, '\n')
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), doc, 0o644); err != nil {
		return nil, fmt.Errorf("export evidence: %w", err)
	}
	if key != nil {
		sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, doc)) + "\n"
		if err := os.WriteFile(filepath.Join(dir, SignatureFile), []byte(sig), 0o644); err != nil {
			return nil, fmt.Errorf("export evidence: %w", err)
		}
		pub, err := MarshalPublicKey(key.Public().(ed25519.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("export evidence: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, PublicKeyFile), pub, 0o644); err != nil {
			return nil, fmt.Errorf("export evidence: %w", err)
		}
	}
	return m, nil
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return errors.New("directory is not empty: a bundle must hold only what its manifest lists")
	}
	return nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// scenarioDir holds the scenario texts, each named by its SHA-256.
const scenarioDir = "scenarios/"

func scenarioPath(sha string) string { return scenarioDir + sha + ".yaml" }

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

func isSHA256(s string) bool { return sha256Hex.MatchString(s) }

// safeName keeps a run id usable as a file name whatever a foreign store holds.
func safeName(id string) string {
	s := unsafeChars.ReplaceAllString(id, "_")
	if s == "" || strings.Trim(s, ".") == "" {
		return "_" + s
	}
	return s
}

// Check is the outcome of Verify.
type Check struct {
	Files    int      `json:"files"`
	Problems []string `json:"problems"` // every difference found, one line each
	// Notes are what an auditor should know but is no tampering: runs whose scenario text
	// the bundle does not hold (imported into the history without it).
	Notes []string `json:"notes"`
	// Signature is "valid", "invalid" (wrong, or not made with the trusted key) or "absent".
	Signature   string `json:"signature"`
	KeySHA256   string `json:"keySha256,omitempty"` // fingerprint of the signing key
	HistoryHead string `json:"historyHead,omitempty"`
}

// OK reports whether every file matches and the signature, if any, is valid.
func (c Check) OK() bool {
	return len(c.Problems) == 0 && (c.Signature == "valid" || c.Signature == "absent")
}

// Verify checks a bundle: each listed file's hash, files missing or not listed, and the
// signature. trusted, when set, is the public key the signature must be made with; without it
// the key shipped in the bundle is used and its fingerprint reported, for the reader to compare.
func Verify(dir string, trusted ed25519.PublicKey) (Check, error) {
	c := Check{Problems: []string{}, Notes: []string{}, Signature: "absent"}
	doc, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return c, fmt.Errorf("verify evidence %s: %w", dir, err)
	}
	// The signature is over the manifest's bytes: check it first, so a manifest edited into
	// something unreadable is still reported as tampered with rather than as unreadable.
	c.Signature, c.KeySHA256, err = checkSignature(dir, doc, trusted)
	if err != nil {
		return c, fmt.Errorf("verify evidence %s: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(doc, &m); err != nil || m.Schema != Schema {
		c.Problems = append(c.Problems, fmt.Sprintf("changed: %s no longer reads as a %s manifest", ManifestFile, Schema))
		return c, nil
	}
	c.HistoryHead = m.HistoryHead
	listed := map[string]bool{ManifestFile: true, SignatureFile: true, PublicKeyFile: true}
	texts := map[string]bool{} // scenario texts present in the bundle, by digest
	runsBySHA := map[string]*runsOfText{}
	for _, f := range m.Files {
		c.Files++
		clean := path.Clean(f.Path)
		if clean != f.Path || path.IsAbs(clean) || strings.HasPrefix(clean, "../") || clean == ".." {
			c.Problems = append(c.Problems, fmt.Sprintf("manifest lists %q, which is not a path inside the bundle", f.Path))
			continue
		}
		listed[clean] = true
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(clean)))
		if errors.Is(err, fs.ErrNotExist) {
			c.Problems = append(c.Problems, "missing: "+clean)
			continue
		}
		if err != nil {
			return c, fmt.Errorf("verify evidence %s: %w", dir, err)
		}
		sum := sha256.Sum256(data)
		got := hex.EncodeToString(sum[:])
		if got != f.SHA256 {
			c.Problems = append(c.Problems, fmt.Sprintf("changed: %s (sha256 %s in the manifest, %s now; %d bytes then, %d now)", clean, f.SHA256, got, f.Bytes, len(data)))
		}
		switch folder, name := path.Split(clean); {
		case folder == scenarioDir && strings.HasSuffix(name, ".yaml"):
			// Checked against its name too: a manifest rewritten along with the text (an
			// unsigned bundle) must not pass off another scenario as the one the runs record.
			sha := strings.TrimSuffix(name, ".yaml")
			if got != sha {
				c.Problems = append(c.Problems, fmt.Sprintf("scenario text does not match its name: %s hashes to %s", clean, got))
			} else {
				texts[sha] = true
			}
		case folder == "runs/" && strings.HasSuffix(name, ".json"):
			var r struct {
				RunID          string `json:"runId"`
				ScenarioSHA256 string `json:"scenarioSha256"`
			}
			if json.Unmarshal(data, &r) == nil {
				runsBySHA[r.ScenarioSHA256] = runsBySHA[r.ScenarioSHA256].add(r.RunID)
			}
		}
	}
	for sha, runs := range runsBySHA {
		if !texts[sha] {
			c.Notes = append(c.Notes, runs.note(sha))
		}
	}
	sort.Strings(c.Notes)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); !listed[rel] {
			c.Problems = append(c.Problems, "not in the manifest: "+rel)
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("verify evidence %s: %w", dir, err)
	}
	sort.Strings(c.Problems)
	return c, nil
}

// runsOfText counts the runs that executed one scenario text and names the first few, so a
// note about 10k imported runs stays one line.
type runsOfText struct {
	n   int
	ids []string
}

func (r *runsOfText) add(id string) *runsOfText {
	if r == nil {
		r = &runsOfText{}
	}
	r.n++
	if len(r.ids) < 3 {
		r.ids = append(r.ids, id)
	}
	return r
}

func (r *runsOfText) note(sha string) string {
	ids := strings.Join(r.ids, ", ")
	if r.n > len(r.ids) {
		ids += fmt.Sprintf(" and %d more", r.n-len(r.ids))
	}
	if sha == "" {
		return fmt.Sprintf("scenario text not available: %d run(s) record no scenarioSha256 (%s)", r.n, ids)
	}
	return fmt.Sprintf("scenario text not available for sha256 %s: %d run(s) (%s); the history held no text for it (runs imported from JSON, or stored before drill kept texts, or a text holding a secret value)", sha, r.n, ids)
}

func checkSignature(dir string, manifest []byte, trusted ed25519.PublicKey) (status, fingerprint string, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, SignatureFile))
	if errors.Is(err, fs.ErrNotExist) {
		if trusted != nil {
			return "invalid", "", nil // a signature was required and there is none
		}
		return "absent", "", nil
	}
	if err != nil {
		return "", "", err
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "invalid", "", nil
	}
	key := trusted
	if key == nil {
		pemBytes, err := os.ReadFile(filepath.Join(dir, PublicKeyFile))
		if err != nil {
			return "invalid", "", nil
		}
		if key, err = ParsePublicKey(pemBytes); err != nil {
			return "invalid", "", nil
		}
	}
	if !ed25519.Verify(key, manifest, sig) {
		return "invalid", Fingerprint(key), nil
	}
	return "valid", Fingerprint(key), nil
}

// Fingerprint is the SHA-256 of the public key's PKIX encoding, as hex.
func Fingerprint(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// GenerateKey makes a key pair as PEM: private PKCS #8, public PKIX.
func GenerateKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	public, err = MarshalPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), public, nil
}

// MarshalPublicKey encodes a public key as PKIX PEM.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKey reads a PKCS #8 PEM ed25519 private key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New(`not a PEM "PRIVATE KEY" (PKCS #8) file`)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want ed25519", k)
	}
	return priv, nil
}

// ParsePublicKey reads a PKIX PEM ed25519 public key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New(`not a PEM "PUBLIC KEY" (PKIX) file`)
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want ed25519", k)
	}
	return pub, nil
}
