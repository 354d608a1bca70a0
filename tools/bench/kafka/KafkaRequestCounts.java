import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * java tools/bench/kafka/KafkaRequestCounts.java <broker pid>
 *
 * Prints how many requests of each kind the broker has handled since it started, one
 * "<request> <count>" line each, from its own metrics (kafka.network RequestMetrics,
 * RequestsPerSec's Count, summed over API versions). It attaches to the running broker's JVM
 * and starts its local management agent, so the broker needs no JMX port; the bench reads it
 * before and after a run, and the difference over the messages is requests per message.
 */
public final class KafkaRequestCounts {
  private KafkaRequestCounts() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: KafkaRequestCounts <broker pid>");
      System.exit(2);
    }
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    String address;
    try {
      address = vm.startLocalManagementAgent();
    } finally {
      vm.detach();
    }
    try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      ObjectName pattern =
          new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
      Map<String, Long> counts = new TreeMap<>();
      for (ObjectName name : server.queryNames(pattern, null)) {
        String request = name.getKeyProperty("request");
        long count = ((Number) server.getAttribute(name, "Count")).longValue();
        counts.merge(request, count, Long::sum);
      }
      counts.forEach((request, count) -> System.out.println(request + " " + count));
    }
  }
}
