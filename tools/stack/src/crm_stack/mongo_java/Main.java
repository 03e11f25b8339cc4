// The MongoDB-protocol server of the local stack's `java` engine: mongo-java-server with
// its H2 backend on one MVStore file. Run without compiling (Java 11+ source launch):
//   java -cp '<libs>/*' Main.java --port 28117 --data <state>/mongo-java/crm.mv.db
// Options: --host H (default 127.0.0.1), --commit write|interval (default write).
//
// `write` commits the MVStore after every request, so a write is in the file (the OS page
// cache) before the client sees the acknowledgement and survives a SIGKILL of this process;
// `interval` keeps the library's default (MVStore auto-commit about once a second), which
// loses the last acknowledged writes on SIGKILL. SIGTERM closes the store cleanly.

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

public final class Main {
    /** pymongo 4.20 refuses servers below wire version 9 (MongoDB 4.4); the library's
     * newest ServerVersion (MONGO_5_0) announces wire version 8, so announce 4.4 / 9. */
    private static final MongoVersion ANNOUNCED = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };
    private static final Set<String> REQUESTS = Set.of("handleMessage", "handleQuery", "handleCommand");

    public static void main(String[] args) {
        Map<String, String> options = parse(args);
        String host = options.getOrDefault("host", "127.0.0.1");
        int port = Integer.parseInt(required(options, "port"));
        String data = required(options, "data");
        String commit = options.getOrDefault("commit", "write");
        if (!commit.equals("write") && !commit.equals("interval")) {
            throw new IllegalArgumentException("--commit must be write or interval");
        }
        H2Backend h2 = new H2Backend(data);
        h2.version(ANNOUNCED);
        MongoBackend backend = commit.equals("write") ? committingEachRequest(h2) : h2;
        MongoServer server = new MongoServer(backend);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "shutdown"));
        server.bind(host, port);
        System.err.printf("mongo-java-server listening on %s:%d, data %s, commit %s%n", host, port, data, commit);
    }

    /** The backend, with an MVStore commit after each request (also a failed one: an
     * unordered bulk insert with a duplicate key stores the other documents). */
    private static MongoBackend committingEachRequest(H2Backend h2) {
        return (MongoBackend) Proxy.newProxyInstance(
                MongoBackend.class.getClassLoader(),
                new Class<?>[] {MongoBackend.class},
                (proxy, method, methodArgs) -> {
                    try {
                        return method.invoke(h2, methodArgs);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    } finally {
                        if (REQUESTS.contains(method.getName())) {
                            h2.commit();
                        }
                    }
                });
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + String.join(" ", args));
            }
            options.put(args[i].substring(2), args[i + 1]);
        }
        return options;
    }

    private static String required(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }
}
