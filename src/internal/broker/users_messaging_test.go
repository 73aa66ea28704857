package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
)

// The sessions of the messaging and caching offerings (provenOfferings).

// Memcached: items. Memcached has no users, so nothing is an administrator's.
type memcacheSession struct{ client *memcache.Client }

func openMemcached(_ context.Context, c creds) (session, error) {
	client := memcache.New(net.JoinHostPort(c.Host, c.Port))
	client.Timeout = 5 * time.Second
	if err := client.Ping(); err != nil {
		client.Close()
		return nil, err
	}
	return memcacheSession{client}, nil
}

func (s memcacheSession) write(_ context.Context, key, value string) error {
	return s.client.Set(&memcache.Item{Key: key, Value: []byte(value)})
}

func (s memcacheSession) read(_ context.Context, key string) (string, error) {
	item, err := s.client.Get(key)
	if err != nil {
		return "", err
	}
	return string(item.Value), nil
}

func (s memcacheSession) alive(context.Context) error { return s.client.Ping() }
func (s memcacheSession) admin(context.Context) error {
	return errors.New("memcached has no users and no administrator")
}
func (s memcacheSession) close() { s.client.Close() }

// NATS: a JetStream stream of keys (subjects kv.<key>, one message each, on disk), on one
// connection that does not reconnect by itself.
type natsSession struct {
	conn *nats.Conn
	js   nats.JetStreamContext
}

func openNATS(_ context.Context, c creds) (session, error) {
	conn, err := nats.Connect(c.URI, nats.NoReconnect(), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	js, err := conn.JetStream(nats.MaxWait(10 * time.Second))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return natsSession{conn, js}, nil
}

// write publishes the value to the stream, which the first write creates (a second AddStream
// with the same configuration changes nothing); the server's acknowledgement means it is on disk.
func (s natsSession) write(_ context.Context, key, value string) error {
	_, err := s.js.AddStream(&nats.StreamConfig{
		Name: "KV", Subjects: []string{"kv.>"}, Storage: nats.FileStorage, MaxMsgsPerSubject: 1,
	})
	if err != nil {
		return err
	}
	_, err = s.js.Publish("kv."+key, []byte(value))
	return err
}

func (s natsSession) read(_ context.Context, key string) (string, error) {
	m, err := s.js.GetLastMsg("KV", "kv."+key)
	if err != nil {
		return "", err
	}
	return string(m.Data), nil
}

func (s natsSession) alive(context.Context) error { return s.conn.FlushTimeout(5 * time.Second) }

// admin asks every server of the system account for its statistics: only the instance's
// admin, a user of that account, gets an answer.
func (s natsSession) admin(context.Context) error {
	_, err := s.conn.Request("$SYS.REQ.SERVER.PING", nil, 5*time.Second)
	return err
}
func (s natsSession) close() { s.conn.Close() }

// MQTT: a retained message per key (topic), on one connection that does not reconnect.
type mqttSession struct{ client mqtt.Client }

// mqttClients numbers the test's MQTT clients: a client id is unique per broker.
var mqttClients atomic.Int64

const mqttWait = 10 * time.Second

func openMQTT(_ context.Context, c creds) (session, error) {
	u, err := url.Parse(c.URI)
	if err != nil {
		return nil, err
	}
	password, _ := u.User.Password()
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + u.Host).
		SetUsername(u.User.Username()).
		SetPassword(password).
		SetClientID(fmt.Sprintf("docker-broker-test-%d", mqttClients.Add(1))).
		SetAutoReconnect(false).
		SetConnectTimeout(5 * time.Second)
	client := mqtt.NewClient(opts)
	if err := wait(client.Connect()); err != nil {
		return nil, err
	}
	return mqttSession{client}, nil
}

// wait waits for an MQTT exchange to end and returns its error.
func wait(t mqtt.Token) error {
	if !t.WaitTimeout(mqttWait) {
		return errors.New("no answer from the MQTT broker")
	}
	return t.Error()
}

// write publishes the value retained, at QoS 1: acknowledged, the broker has it.
func (s mqttSession) write(_ context.Context, key, value string) error {
	return wait(s.client.Publish(key, 1, true, value))
}

// read subscribes to the key's topic and returns the retained message that comes first.
func (s mqttSession) read(_ context.Context, key string) (string, error) {
	return s.first(key)
}

// first subscribes to topic and returns the first message, which a retained one is, sent
// with the subscription's acknowledgement.
func (s mqttSession) first(topic string) (string, error) {
	messages := make(chan string, 1)
	t := s.client.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case messages <- string(m.Payload()):
		default:
		}
	})
	if err := wait(t); err != nil {
		return "", err
	}
	defer s.client.Unsubscribe(topic)
	if qos := t.(*mqtt.SubscribeToken).Result()[topic]; qos == 0x80 {
		return "", fmt.Errorf("subscription to %s refused", topic)
	}
	select {
	case m := <-messages:
		return m, nil
	case <-time.After(mqttWait):
		return "", fmt.Errorf("no retained message on %s", topic)
	}
}

// alive publishes at QoS 1 and waits for the broker's acknowledgement.
func (s mqttSession) alive(context.Context) error {
	if !s.client.IsConnectionOpen() {
		return errors.New("connection closed")
	}
	return wait(s.client.Publish("docker-broker-test/alive", 1, false, "?"))
}

// admin reads the broker's version from $SYS, which the ACL gives to the instance's admin only.
func (s mqttSession) admin(context.Context) error {
	_, err := s.first("$SYS/broker/version")
	return err
}
func (s mqttSession) close() { s.client.Disconnect(250) }
