// pause: the process that holds a pod sandbox's namespaces (the role of the upstream pause
// image, which would have to be pulled from a registry). It sleeps until SIGINT or SIGTERM and
// reaps zombies, since it is PID 1 of pods that share their process namespace.
// Built static (CGO_ENABLED=0) by deploy/localkube/images.sh and put alone in a scratch image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Getpid() != 1 {
		os.Stderr.WriteString("pause: warning: not PID 1\n")
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
