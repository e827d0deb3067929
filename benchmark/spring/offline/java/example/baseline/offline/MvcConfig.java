package example.baseline.offline;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import org.springframework.context.annotation.Bean;
import org.springframework.http.converter.HttpMessageConverter;
import org.springframework.http.converter.StringHttpMessageConverter;
import org.springframework.http.converter.json.MappingJackson2HttpMessageConverter;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.ExceptionHandlerExceptionResolver;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;
import org.springframework.web.servlet.mvc.support.DefaultHandlerExceptionResolver;

/**
 * The part of Spring MVC that Spring Boot (through @EnableWebMvc-style configuration)
 * would wire for a @RestController, built by hand.
 *
 * A "lite" @Component, not @Configuration / @EnableWebMvc: those need CGLIB proxies,
 * and Spring 4.3's ASM fails on Java 17 while generating them.
 */
@Component
public class MvcConfig {

    // Shared by the adapter (request/response bodies) and the exception resolver (error
    // bodies). String first, in UTF-8, so "Hello world\n" goes out as text/plain (the
    // Spring 4.3 default charset would be ISO-8859-1); then Jackson for JSON.
    private static List<HttpMessageConverter<?>> converters() {
        StringHttpMessageConverter text = new StringHttpMessageConverter(StandardCharsets.UTF_8);
        // Spring 4.3 would add a ~3 KB Accept-Charset header to every text response;
        // Spring 5.2+ and Boot leave it out, so must a fair baseline.
        text.setWriteAcceptCharset(false);
        return Arrays.<HttpMessageConverter<?>>asList(text, new MappingJackson2HttpMessageConverter());
    }

    // Without this mapping/adapter pair, DispatcherServlet falls back to its old
    // defaults, which ignore @GetMapping/@PostMapping (every request is a 404).
    @Bean
    public RequestMappingHandlerMapping requestMappingHandlerMapping() {
        return new RequestMappingHandlerMapping();
    }

    @Bean
    public RequestMappingHandlerAdapter requestMappingHandlerAdapter() {
        RequestMappingHandlerAdapter adapter = new RequestMappingHandlerAdapter();
        adapter.setMessageConverters(converters());
        return adapter;
    }

    // Declaring any resolver turns off DispatcherServlet's default list, so both are
    // declared: the @RestControllerAdvice handlers (ApiErrors) first, then Spring's
    // standard status codes (404, 405, 406, ...) for everything else.
    @Bean
    public ExceptionHandlerExceptionResolver exceptionHandlerExceptionResolver() {
        ExceptionHandlerExceptionResolver resolver = new ExceptionHandlerExceptionResolver();
        resolver.setMessageConverters(converters());
        resolver.setOrder(0);
        return resolver;
    }

    @Bean
    public DefaultHandlerExceptionResolver defaultHandlerExceptionResolver() {
        DefaultHandlerExceptionResolver resolver = new DefaultHandlerExceptionResolver();
        resolver.setOrder(1);
        return resolver;
    }
}
