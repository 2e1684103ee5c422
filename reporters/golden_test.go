package reporters

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/drillhq/drill/internal/goldenfile"
	"github.com/drillhq/drill/result"
)

func TestMain(m *testing.M) {
	// tablewriter guesses character widths from the locale; a CJK locale would count "±" as two
	// columns and shift every golden table.
	twwidth.SetEastAsian(false)
	os.Exit(m.Run())
}

var formats = []struct {
	ext   string
	write func(io.Writer, []*result.Result) error
}{
	{"summary.txt", WriteSummary},
	{"json", WriteJSON},
	{"junit.xml", WriteJUnit},
}

func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		for _, f := range formats {
			name := fx.name + "." + f.ext
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := f.write(&buf, fx.results()); err != nil {
					t.Fatalf("write: %v", err)
				}
				golden(t, filepath.Join("testdata", name), buf.Bytes())
			})
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got)
}
