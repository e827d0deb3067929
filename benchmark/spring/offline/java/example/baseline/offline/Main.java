package example.baseline.offline;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import example.baseline.ApiErrors;
import example.baseline.HelloController;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.springframework.web.context.support.AnnotationConfigWebApplicationContext;
import org.springframework.web.servlet.DispatcherServlet;

/**
 * Embedded Tomcat 9 -> DispatcherServlet -> HelloController: the request path of a
 * Spring Boot web app, without Spring Boot (which cannot be fetched here).
 *
 * Tomcat is left at its defaults (HTTP/1.1 NIO connector, maxThreads=200,
 * minSpareThreads=10, acceptCount=100, maxConnections=8192, keep-alive on with
 * maxKeepAliveRequests=100, connectionTimeout=60s (the code default; 20 s is only server.xml's), no access log); only the address
 * and port are set.
 */
public final class Main {

    public static void main(String[] args) throws Exception {
        int port = port();

        // Classes registered directly, no component scan: scanning reads class files
        // with Spring 4.3's ASM, which is what we avoid on Java 17.
        AnnotationConfigWebApplicationContext spring = new AnnotationConfigWebApplicationContext();
        spring.register(MvcConfig.class, HelloController.class, ApiErrors.class);

        // Tomcat writes a work directory under its base dir; keep it out of the cwd.
        Path baseDir = Files.createTempDirectory("spring-baseline-tomcat");
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(baseDir.toString());

        Connector connector = new Connector("HTTP/1.1");
        connector.setPort(port);
        connector.setProperty("address", "127.0.0.1"); // loopback only
        tomcat.setConnector(connector);

        Context context = tomcat.addContext("", null);
        Wrapper dispatcher = Tomcat.addServlet(context, "dispatcher", new DispatcherServlet(spring));
        // Start Spring with Tomcat, not on the first request, so "ready" means ready.
        dispatcher.setLoadOnStartup(1);
        context.addServletMappingDecoded("/", "dispatcher");

        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(tomcat, baseDir)));
        tomcat.start();
        System.out.println("spring-baseline ready on http://127.0.0.1:" + port + "/ after "
                + ManagementFactory.getRuntimeMXBean().getUptime() + " ms of JVM uptime");
        tomcat.getServer().await();
    }

    private static int port() {
        String value = System.getenv("PORT");
        if (value == null || value.isEmpty()) {
            return 8080;
        }
        try {
            int port = Integer.parseInt(value.trim());
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        System.err.println("PORT must be a port number (0-65535), got: " + value);
        System.exit(2);
        return -1;
    }

    // On SIGTERM/SIGINT: close connections, stop Spring, remove the temp base dir.
    private static void stop(Tomcat tomcat, Path baseDir) {
        try {
            tomcat.stop();
            tomcat.destroy();
        } catch (Exception e) {
            System.err.println("error while stopping Tomcat: " + e);
        }
        try (Stream<Path> paths = Files.walk(baseDir)) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException ignored) {
            // a leftover temp dir is harmless
        }
    }
}
