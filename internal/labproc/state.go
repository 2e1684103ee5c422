package labproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ReadState reads the JSON state file at path into st and checks that it is of the version
// this drill writes. found is false (and err nil) when there is no state file: each lab says
// "no lab here" in its own words.
func ReadState(path string, version int, st any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("read lab state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return true, fmt.Errorf("read lab state %s: %w", path, err)
	}
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return true, fmt.Errorf("read lab state %s: %w", path, err)
	}
	if v.Version != version {
		return true, fmt.Errorf("lab state %s has version %d, this drill understands %d", path, v.Version, version)
	}
	return true, nil
}
