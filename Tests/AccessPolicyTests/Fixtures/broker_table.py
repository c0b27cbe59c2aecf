# Judges (principal, action, topic) cases against a live Mosquitto, using paho-mqtt over MQTT v5.
# Publish: the PUBACK reason code of a QoS 1 publish (0x87 = not authorised; below 0x80 = success).
# Read: whether a message is delivered, never the SUBACK. A privileged writer publishes one message per
# case; a sentinel the principal may read, published last on the same connection, proves that every
# earlier case had its chance. `$SYS/...` topics cannot be published by clients: for those the broker's
# own statistics (sys_interval 1) are awaited for `sysWait` seconds.
# Input (argv[1]): {"port", "password", "writer", "sysWait", "principals": [{"id", "publish": [..],
# "read": [..], "sentinel": topic or null, "anonymous": connect without a username}]}. Output: {"<id>": {"publish": {topic: code}, "read": {topic: bool}}}.
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt


class Session:
    def __init__(self, name, password, port, anonymous=False):
        self.name = name
        self.lock = threading.Lock()
        self.pending = {}
        self.codes = {}
        self.received = set()
        self.sys_seen = set()
        self.sentinel = threading.Event()
        self.subscribed = threading.Event()
        connected = threading.Event()
        result = {}
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        if not anonymous:
            client.username_pw_set(name, password)

        def on_connect(c, userdata, flags, reason_code, properties):
            result["rc"] = reason_code.value
            connected.set()

        def on_publish(c, userdata, mid, reason_code, properties):
            with self.lock:
                topic = self.pending.pop(mid, None)
                if topic is not None:
                    self.codes[topic] = reason_code.value

        def on_message(c, userdata, message):
            text = message.payload.decode(errors="replace")
            if message.topic.startswith("$SYS/"):
                self.sys_seen.add(message.topic)
            elif text == "sentinel:" + name:
                self.sentinel.set()
            elif text.startswith("case:" + name + ":"):
                self.received.add(int(text.rsplit(":", 1)[1]))

        def on_subscribe(c, userdata, mid, reason_codes, properties):
            self.subscribed.set()

        client.on_connect = on_connect
        client.on_publish = on_publish
        client.on_message = on_message
        client.on_subscribe = on_subscribe
        client.connect("127.0.0.1", port, keepalive=30, clean_start=True)
        client.loop_start()
        if not connected.wait(10) or result.get("rc") != 0:
            raise SystemExit(f"{name} could not connect: {result}")
        self.client = client

    def publish(self, topic, payload):
        """Publishes at QoS 1 and waits for the PUBACK; returns its reason code."""
        with self.lock:
            info = self.client.publish(topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise SystemExit(f"{self.name}: publish to {topic[:80]} failed locally: {info.rc}")
            if info.mid not in self.codes:
                self.pending[info.mid] = topic
        deadline = time.time() + 10
        while True:
            with self.lock:
                if topic in self.codes and info.mid not in self.pending:
                    return self.codes.pop(topic)
            if time.time() > deadline:
                raise SystemExit(f"{self.name}: no PUBACK for {topic[:80]}")
            time.sleep(0.0005)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def main():
    spec = json.load(open(sys.argv[1]))
    port, password = spec["port"], spec["password"]
    writer = Session(spec["writer"], password, port)
    sessions = {}
    started = time.time()
    for entry in spec["principals"]:
        session = Session(entry["id"], password, port, anonymous=entry.get("anonymous", False))
        filters = sorted(set(entry["read"] + ([entry["sentinel"]] if entry["sentinel"] else [])))
        if filters:
            session.client.subscribe([(f, mqtt.SubscribeOptions(qos=1)) for f in filters])
            if not session.subscribed.wait(10):
                raise SystemExit(f"{entry['id']}: no SUBACK")
        sessions[entry["id"]] = session

    results = {}
    for entry in spec["principals"]:
        name = entry["id"]
        session = sessions[name]
        published = {topic: session.publish(topic, b"case") for topic in entry["publish"]}
        for index, topic in enumerate(entry["read"]):
            if topic.startswith("$SYS/"):
                continue
            code = writer.publish(topic, f"case:{name}:{index}".encode())
            if code >= 0x80:
                raise SystemExit(f"the writer was refused on {topic[:80]}: {code}")
        if entry["sentinel"]:
            writer.publish(entry["sentinel"], f"sentinel:{name}".encode())
            if not session.sentinel.wait(10):
                raise SystemExit(f"{name}: the sentinel on {entry['sentinel']} never arrived")
        results[name] = {"publish": published, "read": {}}

    remaining = spec["sysWait"] - (time.time() - started)
    if remaining > 0:
        time.sleep(remaining)
    no_sentinel_wait = 1.0
    time.sleep(no_sentinel_wait)  # stragglers for principals that have no sentinel to wait for
    for entry in spec["principals"]:
        session = sessions[entry["id"]]
        reads = {}
        for index, topic in enumerate(entry["read"]):
            reads[topic] = topic in session.sys_seen if topic.startswith("$SYS/") else index in session.received
        results[entry["id"]]["read"] = reads
        session.close()
    writer.close()
    json.dump(results, sys.stdout)


main()
