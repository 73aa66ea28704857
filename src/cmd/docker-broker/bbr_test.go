package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The BBR scripts reach the broker on this VM: at the loopback address when it listens on all
// addresses, with its credentials, and with TLS they accept its own certificate only, whatever
// name it carries.
func TestTheBBRClientReachesTheBrokerOfItsConfig(t *testing.T) {
	var locked bool
	broker := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, _ := r.BasicAuth(); user != "broker" || pass != "a-password" || r.URL.Path != "/admin/lock" {
			http.Error(w, `{"description":"no"}`, http.StatusUnauthorized)
			return
		}
		locked = r.Method == http.MethodPut
		_, _ = w.Write([]byte(`{"locked":true}`))
	}))
	defer broker.Close()
	// httptest's servers share one certificate: this one gets another.
	other := httptest.NewUnstartedServer(broker.Config.Handler)
	other.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	other.StartTLS()
	defer other.Close()
	certFile := writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: broker.Certificate().Raw})))

	for _, c := range []struct {
		name    string
		server  *httptest.Server
		address string
		ok      bool
	}{
		{"its own certificate, listening on all addresses", broker, "0.0.0.0", true},
		{"its own certificate, on the loopback address", broker, "127.0.0.1", true},
		{"another certificate", other, "0.0.0.0", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			locked = false
			u, _ := url.Parse(c.server.URL)
			port, _ := strconv.Atoi(u.Port())
			cfg := Config{Address: c.address, Port: port, Username: "broker", Password: "a-password"}
			cfg.TLS.Cert, cfg.TLS.Key = certFile, "unused"
			client, err := adminClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(client.URL, "https://127.0.0.1:") {
				t.Errorf("URL %s, want https on the loopback address", client.URL)
			}
			err = client.Lock(context.Background())
			if c.ok && (err != nil || !locked) {
				t.Errorf("lock: %v (locked %v)", err, locked)
			}
			if !c.ok && (err == nil || !strings.Contains(err.Error(), "another certificate than its tls.cert")) {
				t.Errorf("lock through a server with another certificate: %v", err)
			}
		})
	}
}

// selfSigned is a certificate for 127.0.0.1 of its own.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
