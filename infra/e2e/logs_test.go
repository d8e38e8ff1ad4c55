package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// addressPattern finds anything shaped like an email address.
var addressPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// checkLogs fails the run when any function of any stack the tests started
// wrote an email address to its log (its JSON log lines, and what Lambda's
// emulator logs of a failed invocation: the error a handler returned).
// Logs carry the person key, never the address. It returns the exit code.
func checkLogs(code int) int {
	stacks.Lock()
	defer stacks.Unlock()
	lines := 0
	for _, s := range stacks.all {
		files, _ := filepath.Glob(filepath.Join(s.LogDir, "*Function-*.log"))
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(os.Stderr, "FAIL: logs: %v\n", err)
				code = 1
				continue
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
			for n := 1; sc.Scan(); n++ {
				lines++
				if addr := addressPattern.FindString(sc.Text()); addr != "" {
					fmt.Fprintf(os.Stderr, "FAIL: %s:%d logs an address (%s)\n", filepath.Base(name), n, addr)
					code = 1
				}
			}
			f.Close()
		}
	}
	fmt.Fprintf(os.Stderr, "logs: %d lines of function logs checked for addresses (%d stacks)\n", lines, len(stacks.all))
	return code
}
