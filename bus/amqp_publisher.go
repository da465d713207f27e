package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
)

// AMQPPublisher publishes messages exactly as fedora-messaging does (see
// Publishing), with publisher confirms: Publish returns once the broker
// has taken responsibility for the message.
type AMQPPublisher struct {
	conn     *amqp.Connection
	ch       *amqp.Channel
	exchange string
	now      func() time.Time
}

// NewAMQPPublisher connects to opts.URL with opts' TLS and client
// properties; it publishes to opts.Exchange (default amq.topic). The
// queue, binding and consumer options are not used.
func NewAMQPPublisher(opts AMQPOptions) (*AMQPPublisher, error) {
	if _, err := parseAMQPURL(opts.URL); err != nil {
		return nil, fmt.Errorf("new amqp publisher: %w", err)
	}
	if opts.Exchange == "" {
		opts.Exchange = "amq.topic"
	}
	cfg, err := amqpConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("new amqp publisher: %w", err)
	}
	conn, err := amqp.DialConfig(opts.URL, cfg)
	if err != nil {
		return nil, fmt.Errorf("dial amqp broker: %w", err)
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open amqp channel with confirms: %w", err)
	}
	return &AMQPPublisher{conn: conn, ch: ch, exchange: opts.Exchange, now: time.Now}, nil
}

// Publish sends payload (a JSON object) on topic at level, with object
// headers for objs (nil: none), and returns the message_id it was given.
func (p *AMQPPublisher) Publish(ctx context.Context, topic string, payload any, level int, objs *Objects) (string, error) {
	id := uuid.NewString()
	msg, err := Publishing(id, payload, level, p.now(), objs)
	if err != nil {
		return "", err
	}
	confirm, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, p.exchange, topic, false, false, msg)
	if err != nil {
		return "", fmt.Errorf("publish %s on %s: %w", id, topic, err)
	}
	acked, err := confirm.WaitContext(ctx)
	if err != nil {
		return "", fmt.Errorf("publish %s on %s: wait for the broker: %w", id, topic, err)
	}
	if !acked {
		return "", fmt.Errorf("publish %s on %s: the broker refused it", id, topic)
	}
	return id, nil
}

// Close closes the connection.
func (p *AMQPPublisher) Close() error {
	return p.conn.Close()
}
