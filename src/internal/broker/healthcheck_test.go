package broker

import (
	"net"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

func TestAContainerOnAnotherMachineIsCheckedAtItsPublishedPort(t *testing.T) {
	c := dockerengine.Container{Node: "n2", IPAddress: "172.17.0.2", Ports: []dockerengine.PortMapping{
		{ContainerPort: "8080/tcp", HostIP: "10.0.0.12", HostPort: "20001"},
		{ContainerPort: "6379/tcp", HostIP: "10.0.0.12", HostPort: "20002"},
	}}
	if got, err := portAddress(c, "6379/tcp"); err != nil || got != "10.0.0.12:20002" {
		t.Errorf("remote container: %q, %v; want its node's address and host port 10.0.0.12:20002", got, err)
	}
	if _, err := portAddress(c, "5432/tcp"); err == nil {
		t.Error("a port the container does not publish: no error")
	}
	c.Node = ""
	if got, err := portAddress(c, "6379/tcp"); err != nil || got != "172.17.0.2:6379" {
		t.Errorf("local container: %q, %v; want its own address and port 172.17.0.2:6379", got, err)
	}
}

func TestAConnectionClosedAtOnceIsNotTheService(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	release := make(chan struct{})
	defer close(release)
	go func() {
		// First as docker-proxy with nothing behind it: accept and close. Then as the service.
		first, err := l.Accept()
		if err != nil {
			return
		}
		first.Close()
		second, err := l.Accept()
		if err != nil {
			return
		}
		<-release
		second.Close()
	}()
	for i, want := range []bool{false, true} {
		conn, err := net.DialTimeout("tcp", l.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		err = stillOpen(conn, "6379/tcp")
		conn.Close()
		if (err == nil) != want {
			t.Errorf("connection %d: stillOpen = %v, want open %v", i, err, want)
		}
	}
}
