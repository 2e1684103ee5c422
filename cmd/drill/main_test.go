package main

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	binaries.remove()
	os.Exit(code)
}
