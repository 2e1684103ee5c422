package scenarios

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/drillhq/drill/internal/redact"
)

// MaxFileSize is the largest scenario file Load and Parse accept. Real scenarios are a few
// kilobytes; the limit keeps a wrong path (a log, a disk image) from being read into memory.
const MaxFileSize = 1 << 20

// Option adjusts how a scenario is loaded.
type Option func(*options)

type options struct {
	lookupEnv func(string) (string, bool)
}

// WithLookupEnv replaces os.LookupEnv as the source of ${VAR} values, so tests and embedders
// control the environment a scenario sees.
func WithLookupEnv(lookup func(name string) (value string, ok bool)) Option {
	return func(o *options) {
		if lookup != nil {
			o.lookupEnv = lookup
		}
	}
}

// Load reads, parses and validates the scenario file at path. On failure the error is an
// *Errors listing every problem found, each with file:line:column.
func Load(path string, cat Catalog, opts ...Option) (*Scenario, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, cat, opts...)
}

// readFile refuses directories and oversized files before reading, so pointing drill at a
// multi-gigabyte file fails at once instead of exhausting memory.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, openMessage(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fileError(path, "cannot read file: "+unwrapPathError(err))
	}
	if info.IsDir() {
		return nil, fileError(path, "is a directory, not a scenario file")
	}
	if info.Size() > MaxFileSize {
		return nil, fileError(path, tooLarge(info.Size()))
	}
	// The size from Stat can be wrong (special files, a file still growing), so the read is
	// bounded too.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fileError(path, "cannot read file: "+unwrapPathError(err))
	}
	if len(data) > MaxFileSize {
		return nil, fileError(path, tooLarge(-1))
	}
	return data, nil
}

func openMessage(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "file not found"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	default:
		return "cannot open file: " + unwrapPathError(err)
	}
}

// unwrapPathError drops the "open PATH:" prefix that would repeat the file name.
func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func tooLarge(size int64) string {
	if size < 0 {
		return "file is larger than 1 MiB; scenario files are limited to 1 MiB"
	}
	return fmt.Sprintf("file is %.1f MiB; scenario files are limited to 1 MiB", float64(size)/(1<<20))
}

func fileError(file, msg string) *Errors {
	return &Errors{{Pos: Position{File: file, Line: 1, Column: 1}, Msg: msg}}
}

// Parse parses and validates a scenario held in memory; file names it in positions and in
// Scenario.File. On failure the error is an *Errors listing every problem found.
func Parse(file string, data []byte, cat Catalog, opts ...Option) (*Scenario, error) {
	o := options{lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if len(data) > MaxFileSize {
		return nil, fileError(file, tooLarge(int64(len(data))))
	}
	if !utf8.Valid(data) {
		return nil, invalidUTF8(file, data)
	}
	root, errs := parseYAML(file, data)
	if errs != nil {
		return nil, errs
	}
	if cat == nil {
		cat = emptyCatalog{}
	}
	p := &parser{
		file:      file,
		src:       data,
		cat:       cat,
		lookupEnv: o.lookupEnv,
		tainted:   map[*yaml.Node]bool{},
		merged:    map[*yaml.Node][]pair{},
		structs:   map[reflect.Type]*structInfo{},
	}
	p.lookupEnv = p.recordEnv(o.lookupEnv)
	p.expandEnv(root, "")
	sc := p.scenario(root)
	var secrets *redact.Secrets // nil when there are none: it redacts nothing, and compares equal
	if len(p.secrets) > 0 {
		secrets = redact.New(p.secrets...)
	}
	if len(p.errs) > 0 {
		errs := redactErrors(sortErrors(p.errs), secrets)
		return nil, &errs
	}
	sc.Secrets = secrets
	sum := sha256.Sum256(data)
	sc.File = file
	sc.SHA256 = hex.EncodeToString(sum[:])
	// The file is committed, but a secret can still be written into it literally (the same
	// token as in ${API_TOKEN}): Apply then changes more than the URL scrubbing Text does.
	if text := string(data); secrets.Apply(text) == redact.Text(text) {
		sc.Source = bytes.Clone(data)
	}
	return sc, nil
}

// emptyCatalog stands in for a nil Catalog: every type is unknown.
type emptyCatalog struct{}

func (emptyCatalog) NewConfig(Kind, string) (any, bool) { return nil, false }
func (emptyCatalog) TypeNames(Kind) []string            { return nil }

func invalidUTF8(file string, data []byte) *Errors {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			msg := fmt.Sprintf("file is not valid UTF-8 (byte 0x%02x); save it as UTF-8", data[i])
			return &Errors{{Pos: Position{File: file, Line: line, Column: col}, Msg: msg}}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return fileError(file, "file is not valid UTF-8")
}

// parseYAML returns the single document's root node, or a single positioned error.
func parseYAML(file string, data []byte) (*yaml.Node, *Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return nil, fileError(file, "file is empty")
	}
	if err != nil {
		return nil, syntaxError(file, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		pos := Position{File: file, Line: max(next.Line, 1), Column: max(next.Column, 1)}
		return nil, &Errors{{Pos: pos, Msg: "file holds more than one YAML document; put each scenario in its own file"}}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, fileError(file, "file is empty")
	}
	return doc.Content[0], nil
}

// parserProblems are the messages of yaml.v3's parser (as opposed to its scanner).
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

var (
	yamlLineRE   = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^(?:yaml: )?unknown anchor '(.*)' referenced$`)
)

// syntaxError turns a yaml.v3 parse error into a positioned error. yaml.v3 reports a line but
// no column (and no line at all for problems on line 1), so the column is 1 unless a better
// position can be found in the source.
func syntaxError(file string, data []byte, err error) *Errors {
	msg := err.Error()
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		msg = m[2]
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			line = n
			// yaml.v3 adds one to the 0-based line of scanner errors but not of parser
			// errors, so those arrive one line early.
			if parserProblems[msg] {
				line++
			}
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if l, c, ok := tabIndent(data, line, tabRelated(msg)); ok {
		return &Errors{{Pos: Position{File: file, Line: l, Column: c}, Msg: "tab character used for indentation; YAML requires spaces"}}
	}
	col := 1
	if m := yamlAnchorRE.FindStringSubmatch(err.Error()); m != nil {
		if l, c, ok := findAlias(data, m[1]); ok {
			line, col = l, c
		}
		msg = fmt.Sprintf("alias *%s refers to an anchor &%s that is not defined before it", m[1], m[1])
	}
	return &Errors{{Pos: Position{File: file, Line: line, Column: col}, Msg: "invalid YAML: " + msg}}
}

// tabRelated reports whether a yaml.v3 message is what a tab in the indentation produces.
func tabRelated(msg string) bool {
	return strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token")
}

// tabIndent finds the line whose indentation contains a tab, which is the usual reason a file
// that looks fine in an editor fails to parse: the error line itself, or when the message is
// the one tabs cause, the last tab-indented line before it. Tabs elsewhere (inside a block
// scalar) are legal and must not be blamed for an unrelated error.
func tabIndent(data []byte, errLine int, anyBefore bool) (line, col int, ok bool) {
	for i, l := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		if n > errLine {
			break
		}
		if n < errLine && !anyBefore {
			continue
		}
		rest := bytes.TrimLeft(l, " \t")
		if len(rest) == 0 || rest[0] == '#' || rest[0] == '\r' {
			continue
		}
		if tab := bytes.IndexByte(l[:len(l)-len(rest)], '\t'); tab >= 0 {
			line, col, ok = n, tab+1, true
		}
	}
	return line, col, ok
}

// findAlias returns the 1-based line and column of the first use of alias *name.
func findAlias(data []byte, name string) (line, col int, ok bool) {
	re, err := regexp.Compile(`\*` + regexp.QuoteMeta(name) + `(?:[\s,\]}]|$)`)
	if err != nil {
		return 0, 0, false
	}
	loc := re.FindIndex(data)
	if loc == nil {
		return 0, 0, false
	}
	before := data[:loc[0]]
	line = bytes.Count(before, []byte("\n")) + 1
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, col, true
}
