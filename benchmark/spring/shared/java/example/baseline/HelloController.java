package example.baseline;

import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * The same two endpoints as the Python service. Shared, unchanged, by the offline
 * Spring 4.3 build and the Spring Boot 3 build, so it uses only spring-web annotations
 * and Jackson (no servlet API, no Boot classes).
 */
@RestController
public class HelloController {

    @GetMapping(path = "/", produces = MediaType.TEXT_PLAIN_VALUE)
    public String hello() {
        return "Hello world\n";
    }

    /**
     * consumes="application/json" matches any parameters and any letter case (Spring
     * lower-cases media types), and anything else is a 415 before this runs. Binding to
     * ObjectNode makes Jackson reject arrays and scalars (400), and ObjectNode keeps the
     * key order of the request.
     */
    @PostMapping(path = "/", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ObjectNode keysStartingWithA(@RequestBody ObjectNode body) {
        Iterator<Map.Entry<String, JsonNode>> fields = body.fields();
        while (fields.hasNext()) {
            String key = fields.next().getKey();
            if (!(key.startsWith("a") || key.startsWith("A"))) {
                fields.remove();
            }
        }
        return body;
    }
}
