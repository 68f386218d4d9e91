package loadtest

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// procsSwitches counts the context switches of every thread of a process, not only its first
// thread's (which is all /proc/PID/status holds).
func TestProcsSwitchesCountsEveryThread(t *testing.T) {
	pid := os.Getpid()
	tids, release := make(chan int), make(chan struct{})
	defer close(release)
	go func() {
		runtime.LockOSThread() // this goroutine's thread sleeps and is woken 50 times
		defer runtime.UnlockOSThread()
		for range 50 {
			time.Sleep(time.Millisecond)
		}
		tids <- syscall.Gettid()
		<-release
	}()
	tid := <-tids
	own, first := threadSwitches(pid, strconv.Itoa(tid)), threadSwitches(pid, strconv.Itoa(pid))
	total := procsSwitches([]int{pid}) // read last: counts only grow
	if own < 50 {
		t.Fatalf("the sleeping thread: %d context switches, want at least 50", own)
	}
	if tid != pid && total < own+first {
		t.Fatalf("%d context switches for the process, fewer than its first thread's %d and another's %d", total, first, own)
	}
	if n := procsSwitches([]int{0, 1 << 30}); n != 0 {
		t.Fatalf("no such process: %d switches", n)
	}
}
