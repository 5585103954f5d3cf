// Validate a zoo.cfg with ZooKeeper's own parser before it replaces the live one.
// Run as a single-file program: java -cp /usr/share/java/zookeeper.jar ZooCfgCheck.java <zoo.cfg>
import org.apache.zookeeper.server.quorum.QuorumPeerConfig;

public class ZooCfgCheck {
    public static void main(String[] args) throws Exception {
        QuorumPeerConfig config = new QuorumPeerConfig();
        try {
            config.parse(args[0]);
        } catch (QuorumPeerConfig.ConfigException e) {
            System.err.println("invalid ZooKeeper configuration: " + e.getMessage()
                + (e.getCause() != null ? ": " + e.getCause().getMessage() : ""));
            System.exit(1);
        }
        if (config.getQuorumVerifier() == null || config.getQuorumVerifier().getVotingMembers().isEmpty()) {
            System.err.println("invalid ZooKeeper configuration: no ensemble (server.N lines)");
            System.exit(1);
        }
        System.out.println("ok: server " + config.getServerId() + " of "
            + config.getQuorumVerifier().getVotingMembers().size());
    }
}
