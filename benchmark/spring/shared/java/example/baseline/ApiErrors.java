package example.baseline;

import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Error bodies in the Python service's shape, {"title": ..., "description": ...}.
 * An advice rather than handler methods on the controller because a 415 from
 * consumes= is raised while choosing the handler, where only advices apply.
 */
@RestControllerAdvice
public class ApiErrors {

    @ExceptionHandler(HttpMediaTypeNotSupportedException.class)
    public ResponseEntity<Map<String, String>> unsupportedMediaType(HttpMediaTypeNotSupportedException e) {
        return error(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "415 Unsupported Media Type",
                "The request body must be application/json.");
    }

    // Malformed JSON, invalid UTF-8, an empty body, or a JSON value that is not an object.
    @ExceptionHandler(HttpMessageNotReadableException.class)
    public ResponseEntity<Map<String, String>> notReadable(HttpMessageNotReadableException e) {
        return error(HttpStatus.BAD_REQUEST, "400 Bad Request",
                "The request body must be a JSON object.");
    }

    private static ResponseEntity<Map<String, String>> error(HttpStatus status, String title, String description) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("title", title);
        body.put("description", description);
        return ResponseEntity.status(status).body(body);
    }
}
