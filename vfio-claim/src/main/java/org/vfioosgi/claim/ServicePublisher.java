package org.vfioosgi.claim;

import java.util.Map;
import java.util.function.Supplier;

/** Publishes services; a DS component backs it with its bundle context, tests with a list. */
public interface ServicePublisher {

    /** A published service; {@link #close()} withdraws it. */
    interface Publication extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Publishes a service of which every consumer bundle gets its own view from {@code views}; the view's release
     * runs when that bundle lets go of the service (or stops).
     */
    <S> Publication publish(Class<S> type, Supplier<SharedViews.ConsumerView<S>> views, Map<String, Object> properties);
}
