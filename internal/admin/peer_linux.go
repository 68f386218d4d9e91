package admin

import (
	"net"
	"syscall"
)

func peerOf(c *net.UnixConn) (*Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	p := &Peer{UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid), User: userName(int(cred.Uid))}
	p.Groups = append(procGroups(p.PID), p.GID)
	return p, nil
}
