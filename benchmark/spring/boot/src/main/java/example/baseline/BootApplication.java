package example.baseline;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * Spring Boot 3 entry point for the same controller (pom.xml; needs Maven Central).
 * In package example.baseline so its component scan finds HelloController and
 * ApiErrors from shared/java; the offline Main (example.baseline.offline) is not
 * compiled into this build.
 */
@SpringBootApplication
public class BootApplication {

    public static void main(String[] args) {
        SpringApplication.run(BootApplication.class, args);
    }
}
