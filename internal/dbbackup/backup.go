package dbbackup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// BackupResult describes a verified dump.
type BackupResult struct {
	Path     string
	Bytes    int64
	SHA256   string
	Entries  int // table-of-contents entries pg_restore --list read back
	Duration time.Duration
}

// DumpArgs is pg_dump's argv for a custom-format dump of the connection's database.
func DumpArgs(path string) []string {
	return []string{"--format=custom", "--no-owner", "--no-privileges", "--file", path}
}

// Backup dumps conn's database to path in pg_dump's custom format, checks the dump reads
// back with pg_restore --list, and writes its SHA-256 next to it (path + ".sha256").
func Backup(ctx context.Context, tools Tools, conn Conn, path string) (*BackupResult, error) {
	start := time.Now()
	if _, err := run(command(ctx, tools.pgDump(), conn, DumpArgs(path)...), conn.Password); err != nil {
		os.Remove(path)
		return nil, err
	}
	entries, err := Verify(ctx, tools, path)
	if err != nil {
		return nil, fmt.Errorf("the dump at %s does not read back, do not rely on it: %w", path, err)
	}
	sum, size, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".sha256", []byte(sum+"  "+filepath.Base(path)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return &BackupResult{Path: path, Bytes: size, SHA256: sum, Entries: entries, Duration: time.Since(start)}, nil
}

// Verify lists a custom-format dump's table of contents and returns how many entries it has.
func Verify(ctx context.Context, tools Tools, path string) (int, error) {
	out, err := run(command(ctx, tools.pgRestore(), Conn{}, "--list", path), "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.HasPrefix(line, ";") {
			n++
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%s has an empty table of contents", path)
	}
	return n, nil
}

// CheckSHA256 compares a dump with the checksum file Backup wrote beside it.
func CheckSHA256(path string) (string, error) {
	want, err := os.ReadFile(path + ".sha256")
	if err != nil {
		return "", fmt.Errorf("no checksum beside the dump (%s.sha256): %w", path, err)
	}
	got, _, err := fileSHA256(path)
	if err != nil {
		return "", err
	}
	if fields := strings.Fields(string(want)); len(fields) == 0 || fields[0] != got {
		return "", fmt.Errorf("%s does not match its checksum: the file is damaged or was changed", path)
	}
	return got, nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
