// Command taskprog is a container program for the task runner's tests: `exit` prints a
// greeting and exits with EXIT_CODE, `sleep` waits to be stopped, `serve` (or `server`)
// answers /status/ with STATUS_CODE (default 503) on PORT.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	switch os.Args[1] {
	case "exit":
		wd, _ := os.Getwd()
		fmt.Printf("hello %s from %s, secret set: %t\n", os.Getenv("GREETING"), wd, os.Getenv("SECRET") != "")
		code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
		os.Exit(code)
	case "sleep":
		fmt.Println("sleeping")
		time.Sleep(time.Hour)
	case "serve", "server":
		code, err := strconv.Atoi(os.Getenv("STATUS_CODE"))
		if err != nil {
			code = http.StatusServiceUnavailable // never healthy unless told
		}
		http.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
		fmt.Println("serving on", os.Getenv("PORT"))
		// All addresses, as the app contract says: the emulation registers each task
		// under its own loopback address.
		fmt.Println(http.ListenAndServe("0.0.0.0:"+os.Getenv("PORT"), nil))
		os.Exit(1)
	}
}
