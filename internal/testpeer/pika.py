# A fedora-messaging-shaped AMQP publisher on Debian's python3-pika, for
# hark's tests: a client no one on the project wrote. argv: broker URL,
# exchange. Each stdin line is {"messages": [...], "interval": seconds};
# every message is published with publisher confirms, then one line
# {"ok": count} is printed.
import json
import sys
import time

import pika

url, exchange = sys.argv[1], sys.argv[2]
conn = pika.BlockingConnection(pika.URLParameters(url))
ch = conn.channel()
ch.confirm_delivery()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    n = 0
    for m in cmd["messages"]:
        props = pika.BasicProperties(
            message_id=m.get("message_id"),
            content_type=m.get("content_type", "application/json"),
            content_encoding=m.get("content_encoding", "utf-8"),
            delivery_mode=m.get("delivery_mode", 2),
            headers=m.get("headers"),
        )
        ch.basic_publish(exchange, m["routing_key"], m["body"].encode("utf-8"), props)
        n += 1
        if cmd.get("interval"):
            time.sleep(cmd["interval"])
    print(json.dumps({"ok": n}), flush=True)
