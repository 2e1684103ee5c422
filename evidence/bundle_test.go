package evidence

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A manifest must not make the verifier read outside the bundle.
func TestVerifyRefusesPathsOutsideTheBundle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	manifest := `{"schema":"drill.evidence/v1","files":[{"path":"../secret","sha256":"00","bytes":1},{"path":"/etc/passwd","sha256":"00","bytes":1}]}`
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Verify(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.OK() || len(c.Problems) != 2 || !strings.Contains(c.Problems[0], "not a path inside the bundle") {
		t.Errorf("problems %q", c.Problems)
	}
}

func TestKeysRoundTrip(t *testing.T) {
	t.Parallel()
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePublicKey(pub)
	if err != nil || !p.Equal(k.Public()) {
		t.Fatalf("public key %v does not match the private one (%v)", p, err)
	}
	if _, err := ParsePrivateKey(pub); err == nil {
		t.Error("a public key parsed as a private one")
	}
}

// The documented OpenSSL commands make keys drill reads.
func TestOpenSSLKeys(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")
	for _, args := range [][]string{{"genpkey", "-algorithm", "ed25519", "-out", key}, {"pkey", "-in", key, "-pubout", "-out", pub}} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	kb, _ := os.ReadFile(key)
	pb, _ := os.ReadFile(pub)
	k, err := ParsePrivateKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePublicKey(pb)
	if err != nil || !p.Equal(k.Public()) {
		t.Fatalf("openssl public key: %v", err)
	}
}
