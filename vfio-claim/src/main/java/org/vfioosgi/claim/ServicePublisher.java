package org.vfioosgi.claim;

import java.util.Map;

/** Publishes services; a DS component backs it with its bundle context, tests with a list. */
public interface ServicePublisher {

    /** A published service; {@link #close()} withdraws it. */
    interface Publication extends AutoCloseable {
        @Override
        void close();
    }

    <S> Publication publish(Class<S> type, S service, Map<String, Object> properties);
}
