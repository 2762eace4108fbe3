//go:build !unix

package webpublish

import (
	"io"
	"os"
)

// hashFile streams the file at p through h and returns its size.
func hashFile(p string, h io.Writer, buf []byte) (int64, error) {
	fh, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	// Not io.CopyBuffer: *os.File's WriteTo would allocate its own buffer per file.
	var n int64
	for {
		k, err := fh.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
