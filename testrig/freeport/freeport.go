// Package freeport finds a loopback TCP port for a server a program or test starts.
package freeport

import (
	"fmt"
	"net"
)

// Get returns a port on 127.0.0.1 that was free a moment ago. The caller's server
// binds it later, so another process may take it in between: callers that start
// servers retry or report the bind error.
func Get() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
