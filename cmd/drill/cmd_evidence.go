package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/evidence"
	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/suite"
)

func newEvidenceCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Export a verifiable evidence bundle for auditors, and check one",
		Long: `An evidence bundle is a directory holding the compliance report (HTML, Markdown, JSON),
the drill.result/v1 document of every run of the period and every run it cites, the
scenario file each of them executed (scenarios/SHA256.yaml, as written, named by the run's
scenarioSha256), their sign-offs, the findings, the history hash-chain check, and
manifest.json listing every file with its SHA-256.
With --sign-key the manifest is signed (ed25519): manifest.sig and manifest.pub.

'drill evidence verify DIR' recomputes every hash and checks the signature; it names each
file that changed, is missing or was added, and each scenario text that does not hash to
its name. Runs whose scenario text the history did not hold (imported from JSON) are
noted, not failed. Give the verifier the public key you trust (--pub-key): the key
inside the bundle only proves the bundle is consistent with itself.

Keys are PEM, as OpenSSL writes them for ed25519 (private: PKCS #8 "PRIVATE KEY";
public: PKIX "PUBLIC KEY"). 'drill evidence keygen' makes a pair, or use
  openssl genpkey -algorithm ed25519 -out drill-evidence.key
  openssl pkey -in drill-evidence.key -pubout -out drill-evidence.pub`,
		Example: `  drill evidence keygen --out drill-evidence
  drill evidence export --suite drills/production.yaml --period 2026-Q3 --out evidence-2026-Q3 --sign-key drill-evidence.key
  drill evidence verify evidence-2026-Q3 --pub-key drill-evidence.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("name a verb: drill evidence export|verify|keygen (see 'drill evidence --help')")
		},
	}
	cmd.AddCommand(newEvidenceExportCmd(a), newEvidenceVerifyCmd(a), newEvidenceKeygenCmd(a))
	return cmd
}

func newEvidenceExportCmd(a *app) *cobra.Command {
	var suitePath, period, system, out, path, signKey string
	cmd := &cobra.Command{
		Use:   "export --out DIR",
		Short: "Write the report, cited runs, sign-offs, findings and a SHA-256 manifest into DIR",
		Example: `  drill evidence export --period 2026-Q3 --out evidence-2026-Q3
  drill evidence export --suite drills/production.yaml --period 2026 --system orders-etcd --out orders-2026 --sign-key drill-evidence.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("--out DIR is required: the bundle is written into a new or empty directory")
			}
			var key ed25519.PrivateKey
			if signKey != "" {
				data, err := os.ReadFile(signKey)
				if err != nil {
					return usageErrorf("--sign-key: %v", err)
				}
				if key, err = evidence.ParsePrivateKey(data); err != nil {
					return usageErrorf("--sign-key %s: %v", signKey, err)
				}
			}
			now := time.Now().UTC()
			p, err := reportPeriod(period, "", "", now)
			if err != nil {
				return err
			}
			var s *suite.Suite
			if suitePath != "" {
				if s, err = loadSuite(a, suitePath); err != nil {
					return err
				}
			}
			store, err := openHistoryReadOnly(a, path)
			if err != nil {
				return err
			}
			defer store.Close()
			ctx := cmd.Context()
			fail := func(err error) error { return &exitError{code: result.ExitError, msg: err.Error()} }
			in := compliance.Input{Period: p, Now: now, ToolVersion: toolVersion()}
			if s != nil {
				in.SuiteFile, in.SuiteName = s.File, s.Name
				for _, e := range s.Entries {
					if system == "" || e.System == system {
						in.Entries = append(in.Entries, e)
					}
				}
				if in.Entries == nil {
					return usageErrorf("--system %q: no scenario of suite %s drills it", system, s.File)
				}
			}
			if in.SignOffs, err = store.SignOffs(ctx); err != nil {
				return fail(err)
			}
			if in.Findings, err = store.Findings(ctx); err != nil {
				return fail(err)
			}
			ver, err := store.Verify(ctx)
			if err != nil {
				return fail(err)
			}
			if !ver.Intact() {
				// Still exported: the bundle records the broken chain for the auditor to see.
				fmt.Fprintf(a.stderr, "drill: warning: history hash chain is broken: %s (recorded in history-verify.json)\n", ver.Broken)
			}
			// The report folds the rows of every run; only the runs it cites are decoded.
			rep, err := compliance.BuildFrom(ctx, in, systemRows{store, system})
			if err != nil {
				return fail(err)
			}
			var cited []*result.Result
			for _, e := range rep.Evidence {
				r, ok, err := store.Get(ctx, e.RunID)
				if err != nil {
					return fail(err)
				}
				if ok {
					cited = append(cited, r)
				}
			}
			periodRuns := func(fn func(*result.Result) error) error {
				return store.Each(ctx, history.Filter{Since: p.Since, Until: p.Until, System: system}, fn)
			}
			scenarioText := func(sha string) ([]byte, bool, error) { return store.ScenarioText(ctx, sha) }
			m, err := evidence.Export(out, evidence.Contents{Report: rep, Runs: cited, PeriodRuns: periodRuns, ScenarioText: scenarioText,
				SignOffs: in.SignOffs, Verification: ver, System: system, CreatedAt: now}, key)
			if err != nil {
				return fail(err)
			}
			signed := "unsigned"
			if key != nil {
				signed = "signed with key " + evidence.Fingerprint(key.Public().(ed25519.PublicKey))[:16]
			}
			fmt.Fprintf(a.stdout, "wrote %s: %d files (%d runs, %d scenario texts, %d findings), %s\n", out, len(m.Files),
				countFiles(m, "runs/"), countFiles(m, "scenarios/"), len(rep.Findings), signed)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&suitePath, "suite", "", "suite `FILE` defining the programme (default: every scenario in history)")
	fl.StringVar(&period, "period", "", "calendar `PERIOD`: 2026, 2026-Q3, 2026-H2 or 2026-11 (default: the current quarter)")
	fl.StringVar(&system, "system", "", "only this `SYSTEM`")
	fl.StringVar(&out, "out", "", "new or empty `DIR` to write the bundle into (required)")
	fl.StringVar(&signKey, "sign-key", "", "sign the manifest with this ed25519 private key `FILE` (PEM, PKCS #8)")
	fl.StringVar(&path, "history", "", "history store `PATH` (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	return cmd
}

func newEvidenceVerifyCmd(a *app) *cobra.Command {
	var pubKey string
	cmd := &cobra.Command{
		Use:   "verify DIR",
		Short: "Check every file of an evidence bundle against its manifest, and its signature",
		Long: `Verify recomputes the SHA-256 of every file the manifest lists and names each one that
changed, is missing, or is present but not listed; then checks manifest.sig. With
--pub-key the signature must be made with that key; without it the key shipped in the
bundle is used and its fingerprint printed, to compare with the one you expect.

Exit code: 0 everything matches, 1 something changed or the signature is invalid,
3 the bundle could not be read.`,
		Example: `  drill evidence verify evidence-2026-Q3
  drill evidence verify evidence-2026-Q3 --pub-key drill-evidence.pub`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name the bundle directory: drill evidence verify DIR")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var trusted ed25519.PublicKey
			if pubKey != "" {
				data, err := os.ReadFile(pubKey)
				if err != nil {
					return usageErrorf("--pub-key: %v", err)
				}
				if trusted, err = evidence.ParsePublicKey(data); err != nil {
					return usageErrorf("--pub-key %s: %v", pubKey, err)
				}
			}
			c, err := evidence.Verify(args[0], trusted)
			if errors.Is(err, fs.ErrNotExist) {
				return usageErrorf("%v (is %s an evidence bundle?)", err, args[0])
			}
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			for _, p := range c.Problems {
				fmt.Fprintln(a.stdout, p)
			}
			for _, n := range c.Notes {
				fmt.Fprintln(a.stdout, "note: "+n)
			}
			switch c.Signature {
			case "absent":
				fmt.Fprintln(a.stdout, "signature: none (the bundle is unsigned)")
			case "valid":
				how := "with the key in the bundle; compare its fingerprint with the one you trust"
				if trusted != nil {
					how = "with the trusted key"
				}
				fmt.Fprintf(a.stdout, "signature: valid, key sha256 %s (%s)\n", c.KeySHA256, how)
			default:
				fmt.Fprintln(a.stdout, "signature: INVALID: the manifest was changed after signing, or signed with another key")
			}
			if !c.OK() {
				fmt.Fprintf(a.stdout, "BROKEN: %s: %d of %d files differ from the manifest\n", args[0], len(c.Problems), c.Files)
				return &exitError{code: result.ExitFail}
			}
			fmt.Fprintf(a.stdout, "intact: %s: %d files match the manifest\n", args[0], c.Files)
			return nil
		},
	}
	cmd.Flags().StringVar(&pubKey, "pub-key", "", "ed25519 public key `FILE` (PEM) the signature must be made with")
	return cmd
}

func newEvidenceKeygenCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out NAME",
		Short: "Make an ed25519 key pair for signing evidence bundles: NAME.key and NAME.pub",
		Long: `Keygen writes NAME.key (private, PEM PKCS #8, mode 0600) and NAME.pub (public, PEM PKIX).
Keep the private key where bundles are exported; give the public key to whoever verifies
them. It refuses to overwrite existing files.`,
		Example: `  drill evidence keygen --out drill-evidence`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("--out NAME is required (writes NAME.key and NAME.pub)")
			}
			priv, pub, err := evidence.GenerateKey()
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			for _, f := range []struct {
				name string
				data []byte
				mode os.FileMode
			}{{out + ".key", priv, 0o600}, {out + ".pub", pub, 0o644}} {
				w, err := os.OpenFile(f.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
				if err != nil {
					return &exitError{code: result.ExitError, msg: fmt.Sprintf("write key: %v", err)}
				}
				_, err = w.Write(f.data)
				if cerr := w.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return &exitError{code: result.ExitError, msg: fmt.Sprintf("write key %s: %v", f.name, err)}
				}
			}
			fmt.Fprintf(a.stdout, "wrote %s.key (private) and %s.pub (public)\n", out, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "`NAME` of the key files to write")
	return cmd
}

// systemRows limits a history's rows to one system ("" for all), as --system limits a bundle.
type systemRows struct {
	history.RowSource
	system string
}

func (s systemRows) Rows(ctx context.Context, f history.Filter, fn func(history.Row) error) error {
	if s.system != "" {
		f.System = s.system
	}
	return s.RowSource.Rows(ctx, f, fn)
}

// countFiles counts the files of a bundle in one folder (runs/, scenarios/).
func countFiles(m *evidence.Manifest, folder string) int {
	n := 0
	for _, f := range m.Files {
		if strings.HasPrefix(f.Path, folder) {
			n++
		}
	}
	return n
}
