"""One operation of Debian's python3-confluent-kafka against a broker, for the compatibility suite.

Usage: confluent_kafka_client.py BOOTSTRAP < command.json; prints the result as JSON.
Commands: list_topics, create_topic, produce, consume, offset_for_time, ... (see clients.ts and
OPERATIONS below). Any failure the client reports exits non-zero with the error on stderr.
group_member runs until it is killed, printing each record it reads as a tab-separated line.
"""
import json
import sys

import confluent_kafka
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

TIMEOUT_S = 20


def version(_conf, _command):
    return {"client": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}


def list_topics(conf, _command):
    return sorted(AdminClient(conf).list_topics(timeout=TIMEOUT_S).topics.keys())


def create_topic(conf, command):
    # The client must outlive its futures: destroying it fails them with _DESTROY.
    admin = AdminClient(conf)
    futures = admin.create_topics([NewTopic(command["topic"], command["partitions"], 1)])
    for future in futures.values():
        future.result(timeout=TIMEOUT_S)
    return None


def create_partitions(conf, command):
    admin = AdminClient(conf)
    for future in admin.create_partitions([NewPartitions(command["topic"], command["count"])]).values():
        future.result(timeout=TIMEOUT_S)
    return None


def describe_topic_configs(conf, command):
    admin = AdminClient(conf)
    [future] = admin.describe_configs([ConfigResource("topic", command["topic"])]).values()
    return {name: entry.value for name, entry in future.result(timeout=TIMEOUT_S).items()}


def alter_topic_config(conf, command):
    admin = AdminClient(conf)
    resource = ConfigResource("topic", command["topic"], set_config={command["name"]: command["value"]})
    for future in admin.alter_configs([resource]).values():
        future.result(timeout=TIMEOUT_S)
    return None


def describe_cluster(conf, _command):
    # This client has no DescribeCluster call; its cluster view is the Metadata response's.
    metadata = AdminClient(conf).list_topics(timeout=TIMEOUT_S)
    return {
        "clusterId": metadata.cluster_id,
        "controllerId": metadata.controller_id,
        "brokers": [{"nodeId": b.id, "host": b.host, "port": b.port} for b in metadata.brokers.values()],
    }


def produce(conf, command):
    failures = []

    def delivered(error, _message):
        if error is not None:
            failures.append(str(error))

    producer = Producer({**conf, "compression.type": command["codec"], "linger.ms": 0, "enable.idempotence": command["idempotent"]})
    for record in command["records"]:
        producer.produce(command["topic"], key=record["key"], value=record["value"], on_delivery=delivered)
    if producer.flush(TIMEOUT_S) != 0:
        raise KafkaException("records still undelivered after %d s" % TIMEOUT_S)
    if failures:
        raise KafkaException("; ".join(failures))
    return None


def produce_transaction(conf, command):
    producer = Producer({**conf, "transactional.id": command["transactional_id"], "linger.ms": 0})
    producer.init_transactions(TIMEOUT_S)
    producer.begin_transaction()
    for record in command["records"]:
        producer.produce(command["topic"], key=record["key"], value=record["value"])
    # Delivered first: an abort purges what is still queued, and nothing of it would reach the log.
    if producer.flush(TIMEOUT_S) != 0:
        raise KafkaException("records still undelivered after %d s" % TIMEOUT_S)
    if command["outcome"] == "commit":
        producer.commit_transaction(TIMEOUT_S)
    else:
        producer.abort_transaction(TIMEOUT_S)
    return None


def fence_zombie(conf, command):
    """Producer A opens a transaction, B inits the same transactional id; returns the error A's commit gets."""
    topic = command["topic"]
    config = {**conf, "transactional.id": command["transactional_id"], "linger.ms": 0}
    zombie = Producer(config)
    zombie.init_transactions(TIMEOUT_S)
    zombie.begin_transaction()
    for record in command["zombie_records"]:
        zombie.produce(topic, key=record["key"], value=record["value"])
    if zombie.flush(TIMEOUT_S) != 0:
        raise KafkaException("records still undelivered after %d s" % TIMEOUT_S)
    producer = Producer(config)
    producer.init_transactions(TIMEOUT_S)
    try:
        zombie.commit_transaction(TIMEOUT_S)
        raise KafkaException("the fenced producer committed")
    except KafkaException as fenced:
        refusal = fenced.args[0].name()
    producer.begin_transaction()
    for record in command["records"]:
        producer.produce(topic, key=record["key"], value=record["value"])
    producer.commit_transaction(TIMEOUT_S)
    return refusal


def group_member(conf, command):
    consumer = Consumer(
        {
            **conf,
            "group.id": command["group"],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": command["session_timeout_ms"],
            "heartbeat.interval.ms": command["heartbeat_interval_ms"],
        }
    )
    consumer.subscribe([command["topic"]])
    while True:
        message = consumer.poll(1)
        if message is None:
            continue
        if message.error() is not None:
            raise KafkaException(message.error())
        # Committed before it is reported: every reported record's offset is in the group.
        consumer.commit(message, asynchronous=False)
        fields = [message.topic(), str(message.partition()), str(message.offset()), message.key().decode(), message.value().decode()]
        print("\t".join(fields), flush=True)


def consume(conf, command):
    consumer = Consumer({**conf, "group.id": command["group"], "auto.offset.reset": "earliest", "enable.auto.commit": False, "isolation.level": "read_committed"})
    consumer.subscribe(command["topics"])
    records = []
    try:
        while len(records) < command["count"]:
            message = consumer.poll(TIMEOUT_S)
            if message is None:
                raise KafkaException("no record within %d s after %d of %d" % (TIMEOUT_S, len(records), command["count"]))
            if message.error() is not None:
                raise KafkaException(message.error())
            records.append(
                {
                    "topic": message.topic(),
                    "partition": message.partition(),
                    "offset": message.offset(),
                    "key": message.key().decode(),
                    "value": message.value().decode(),
                }
            )
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return records


def offset_for_time(conf, command):
    consumer = Consumer({**conf, "group.id": "offset-lookup"})
    try:
        [found] = consumer.offsets_for_times([TopicPartition(command["topic"], command["partition"], command["timestamp"])], TIMEOUT_S)
        if found.error is not None:
            raise KafkaException(found.error)
        return found.offset
    finally:
        consumer.close()


OPERATIONS = {
    "version": version,
    "list_topics": list_topics,
    "create_topic": create_topic,
    "create_partitions": create_partitions,
    "describe_topic_configs": describe_topic_configs,
    "produce": produce,
    "produce_transaction": produce_transaction,
    "consume": consume,
    "alter_topic_config": alter_topic_config,
    "describe_cluster": describe_cluster,
    "fence_zombie": fence_zombie,
    "group_member": group_member,
    "offset_for_time": offset_for_time,
}


def main():
    command = json.load(sys.stdin)
    conf = {"bootstrap.servers": sys.argv[1]}
    print(json.dumps(OPERATIONS[command["op"]](conf, command)))


if __name__ == "__main__":
    main()
