package main

import (
	"fmt"
	"os"
)

// ensureDir creates dir (and parents) for the database file.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create data directory %s: %w", dir, err)
	}
	return nil
}
