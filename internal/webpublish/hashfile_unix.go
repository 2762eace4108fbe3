//go:build unix

package webpublish

import (
	"io"
	"io/fs"
	"syscall"
)

// hashFile streams the file at p through h and returns its size. It reads with plain
// system calls: os.Open also offers every file to the runtime's network poller (one
// more system call, refused for regular files), which made hashing a 20,000-file
// bundle on one core take a third longer (measured: 250 ms against 190 ms).
func hashFile(p string, h io.Writer, buf []byte) (int64, error) {
	fd, err := ignoringEINTR(func() (int, error) { return syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0) })
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer syscall.Close(fd)
	var n int64
	for {
		k, err := ignoringEINTR(func() (int, error) { return syscall.Read(fd, buf) })
		if err != nil {
			return n, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if k == 0 {
			return n, nil
		}
		h.Write(buf[:k])
		n += int64(k)
	}
}

// ignoringEINTR repeats a system call a signal interrupted, as package os does.
func ignoringEINTR(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
