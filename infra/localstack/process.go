package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Root returns the repository root: the nearest directory above the working
// directory that holds go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("localstack: no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreeAddr returns a free 127.0.0.1:port. Servers are bound to loopback only.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Process is a server the stack started, in its own process group so that
// Stop ends its children too.
type Process struct {
	Name    string
	cmd     *exec.Cmd
	done    chan struct{}
	Started time.Time
}

// StartProcess starts name with args and env added to the environment,
// logging to logDir/<name>.log.
func StartProcess(name, logDir string, env []string, bin string, args ...string) (*Process, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("localstack: %s: %s is missing (run `make tools`, which `make test` and `make dev` do): %w", name, bin, err)
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Process{Name: name, cmd: cmd, done: make(chan struct{}), Started: time.Now()}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("localstack: starting %s: %w", name, err)
	}
	go func() { cmd.Wait(); logFile.Close(); close(p.done) }()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL after a grace period.
func (p *Process) Stop() {
	if p == nil || p.Exited() {
		return
	}
	pgid := -p.cmd.Process.Pid
	children := descendants(p.cmd.Process.Pid)
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
	for _, pid := range children { // what left the group (a function under the RIE) goes too
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Kill ends the process and everything it started at once, as a crash or
// an out-of-memory kill would: nothing gets to clean up. The emulator puts
// the function's process in a group of its own, so the group is not enough.
func (p *Process) Kill() {
	if p == nil || p.Exited() {
		return
	}
	victims := descendants(p.cmd.Process.Pid) // before the parent dies and they are re-parented
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	for _, pid := range victims {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	<-p.done
}

// descendants lists the processes below pid, from /proc (Linux).
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses: state ppid ...
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 {
			if ppid, err := strconv.Atoi(fields[1]); err == nil {
				children[ppid] = append(children[ppid], child)
			}
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// WaitHTTP polls url until it answers (any status) or ctx ends.
func (p *Process) WaitHTTP(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("localstack: %s exited before it was ready (see its log)", p.Name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localstack: %s not ready at %s: %w", p.Name, url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitTCP polls addr until it accepts a connection or ctx ends.
func (p *Process) WaitTCP(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("localstack: %s exited before it was ready (see its log)", p.Name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localstack: %s not listening on %s: %w", p.Name, addr, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return strconv.Itoa(n)
}

// nodePath finds node on PATH.
func nodePath() string {
	if p, err := exec.LookPath("node"); err == nil {
		return p
	}
	return "node"
}
