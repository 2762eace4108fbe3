// Command hello prints the version baked in at build time.
package main

import "fmt"

var version = "dev"

func main() { fmt.Println("hello", version) }
