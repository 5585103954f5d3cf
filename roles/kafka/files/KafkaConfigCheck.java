// Validate a Kafka configuration with Kafka's own config classes before it replaces
// the live file (types, ranges, listener/mode rules). Single-file program:
//   java -cp '<lib>/*' KafkaConfigCheck.java server|connect <file>
import java.io.FileInputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

public class KafkaConfigCheck {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (FileInputStream in = new FileInputStream(args[1])) {
            props.load(in);
        }
        try {
            if (args[0].equals("server")) {
                kafka.server.KafkaConfig.fromProps(props, true);
            } else if (args[0].equals("connect")) {
                Map<String, String> map = new HashMap<>();
                for (String name : props.stringPropertyNames()) {
                    map.put(name, props.getProperty(name));
                }
                new org.apache.kafka.connect.runtime.distributed.DistributedConfig(map);
            } else {
                throw new IllegalArgumentException("unknown kind " + args[0] + " (server or connect)");
            }
        } catch (RuntimeException e) {
            System.err.println("invalid Kafka " + args[0] + " configuration: " + e.getMessage());
            System.exit(1);
        }
        System.out.println("ok");
    }
}
