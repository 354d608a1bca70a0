// Readiness probe for scripts/infra/kafka.sh (compiled at install time against the broker's own
// kafka-clients jar). "Ready" means a client can really use the broker: it is in the cluster
// metadata, and every existing partition has a leader that answers ListOffsets. Right after a
// restart the broker logs "Kafka Server started" a moment before the controller has re-elected it
// leader of its partitions; clients that connect in that window get NOT_LEADER_OR_FOLLOWER.
//
// Usage: java -cp 'libs/*:probe' KafkaReady BOOTSTRAP TIMEOUT_SECONDS
// Exit 0 when ready, 1 (with the last problem on stderr) when the deadline passes.

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;

public final class KafkaReady {
  private static final long CALL_TIMEOUT_MS = 5_000;

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 2) {
      System.err.println("usage: KafkaReady BOOTSTRAP TIMEOUT_SECONDS");
      System.exit(2);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "herald-kafka-ready");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(CALL_TIMEOUT_MS));
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(CALL_TIMEOUT_MS));
    props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "200");

    String problem = "no answer yet";
    try (Admin admin = Admin.create(props)) {
      while (true) {
        try {
          problem = check(admin);
        } catch (Exception e) {
          Throwable cause = e.getCause() != null ? e.getCause() : e;
          problem = cause.getClass().getSimpleName() + ": " + cause.getMessage();
        }
        if (problem == null) {
          System.out.println("kafka ready");
          return;
        }
        if (System.nanoTime() > deadline) break;
        Thread.sleep(250);
      }
    }
    System.err.println("kafka not ready: " + problem);
    System.exit(1);
  }

  /** Returns null when ready, otherwise a description of what is not ready yet. */
  private static String check(Admin admin) throws Exception {
    if (admin.describeCluster().nodes().get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS).isEmpty()) {
      return "no brokers registered";
    }
    Set<String> topics =
        admin.listTopics(new ListTopicsOptions().listInternal(true)).names()
            .get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    if (topics.isEmpty()) return null;

    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (TopicDescription topic :
        admin.describeTopics(topics).allTopicNames().get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS).values()) {
      for (TopicPartitionInfo p : topic.partitions()) {
        if (p.leader() == null || p.leader().isEmpty()) {
          return topic.name() + "-" + p.partition() + " has no leader yet";
        }
        latest.put(new TopicPartition(topic.name(), p.partition()), OffsetSpec.latest());
      }
    }
    // Served by the partition leader's replica manager, so it fails until leadership is applied.
    admin.listOffsets(latest).all().get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    return null;
  }
}
