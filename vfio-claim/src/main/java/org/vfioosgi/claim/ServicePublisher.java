package org.vfioosgi.claim;

import java.util.List;
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
    default <S> Publication publish(Class<S> type, Supplier<SharedViews.ConsumerView<S>> views,
            Map<String, Object> properties) {
        return publish(type, List.of(), views, properties);
    }

    /**
     * Publishes one service under {@code type} and the super-types {@code alsoAs} too (a container is also an IO
     * address space): one registration, so a consumer bundle gets one view whichever name it looks it up by.
     */
    <S> Publication publish(Class<S> type, List<Class<? super S>> alsoAs, Supplier<SharedViews.ConsumerView<S>> views,
            Map<String, Object> properties);
}
