package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Where the CPU goes. A benchmark that shares the cores between crier, the SMTP sink
// and PostgreSQL is bound by their sum, or by one of them working serially: the
// benchmarks print each one's CPU time per item, read from /proc, and how much of a
// core it kept busy.

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procTimes reads a process's CPU time (user + system), the CPU time of the children
// it has reaped, and its parent's pid.
func procTimes(pid int) (self, reaped time.Duration, ppid int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
	if len(f) < 15 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	var n [4]int64
	for k := range n {
		if n[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(n[0]+n[1]) * clockTick, time.Duration(n[2]+n[3]) * clockTick, ppid, nil
}

// procCPU is pid's CPU time so far (0 if it can't be read).
func procCPU(pid int) time.Duration {
	self, _, _, err := procTimes(pid)
	if err != nil {
		return 0
	}
	return self
}

// pgServer finds the PostgreSQL server pool talks to among this machine's processes:
// the parent of a backend, if that backend is visible here (a server elsewhere, or in
// another pid namespace, is not). It returns 0 when it can't.
func pgServer(ctx context.Context, pool *sqlx.DB) int {
	var backend int
	if err := pool.GetContext(ctx, &backend, `SELECT pg_backend_pid()`); err != nil {
		return 0
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", backend))
	if err != nil || !strings.HasPrefix(string(comm), "postgres") {
		return 0
	}
	_, _, postmaster, err := procTimes(backend)
	if err != nil {
		return 0
	}
	return postmaster
}

// serverCPU is the CPU time of PostgreSQL's server process postmaster and all its
// processes so far: live ones are read from /proc; those that have exited were reaped
// by the postmaster, whose children's time holds theirs.
func serverCPU(postmaster int) time.Duration {
	self, reaped, _, err := procTimes(postmaster)
	if err != nil {
		return 0
	}
	total := self + reaped
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == postmaster {
			continue
		}
		if t, _, ppid, err := procTimes(pid); err == nil && ppid == postmaster {
			total += t
		}
	}
	return total
}

// cpuMeter measures the CPU time named processes use between begin and end.
type cpuMeter struct {
	names []string
	read  []func() time.Duration
	start []time.Duration
	began time.Time
}

// add has the meter follow a process; read returns its CPU time so far.
func (m *cpuMeter) add(name string, read func() time.Duration) {
	m.names = append(m.names, name)
	m.read = append(m.read, read)
}

// addProc has the meter follow process pid.
func (m *cpuMeter) addProc(name string, pid int) {
	m.add(name, func() time.Duration { return procCPU(pid) })
}

// addPostgres has the meter follow the PostgreSQL server pool talks to, when it runs on
// this machine (else the line leaves it out).
func (m *cpuMeter) addPostgres(ctx context.Context, pool *sqlx.DB) {
	if pm := pgServer(ctx, pool); pm != 0 {
		m.add("PostgreSQL", func() time.Duration { return serverCPU(pm) })
	}
}

// begin takes the starting readings.
func (m *cpuMeter) begin() {
	m.began = time.Now()
	m.start = make([]time.Duration, len(m.read))
	for i, r := range m.read {
		m.start[i] = r()
	}
}

// cpuUse is the CPU time the processes used over a measurement of wall time.
type cpuUse struct {
	names []string
	used  []time.Duration
	wall  time.Duration
}

// end returns what each process used since begin.
func (m *cpuMeter) end() cpuUse {
	u := cpuUse{names: m.names, wall: time.Since(m.began)}
	for i, r := range m.read {
		u.used = append(u.used, max(0, r()-m.start[i]))
	}
	return u
}

// cpuLine says what each process used per item ("message", "request", "row") and how
// much of a core it kept busy over wall, e.g. "CPU per message: crier serve 152 µs (0.41
// of a core), SMTP sink 51 µs (0.14), PostgreSQL 203 µs (0.55); together 406 µs (1.10
// of 2 cores)". A process near one core while the total is well under the machine's
// is working serially (one database backend); a total near all cores is the machine's
// limit.
func cpuLine(u cpuUse, items int, item string) string {
	wall := u.wall
	if items <= 0 || len(u.used) == 0 || wall <= 0 {
		return ""
	}
	var parts []string
	var total, totalPer time.Duration
	for i, used := range u.used {
		per := used / time.Duration(items)
		total += used
		totalPer += per
		share := fmt.Sprintf("%.2f", used.Seconds()/wall.Seconds())
		if i == 0 {
			share += " of a core"
		}
		parts = append(parts, fmt.Sprintf("%s %d µs (%s)", u.names[i], per.Microseconds(), share))
	}
	return fmt.Sprintf("CPU per %s: %s; together %d µs (%.2f of %d cores)", item, strings.Join(parts, ", "),
		totalPer.Microseconds(), total.Seconds()/wall.Seconds(), runtime.NumCPU())
}
