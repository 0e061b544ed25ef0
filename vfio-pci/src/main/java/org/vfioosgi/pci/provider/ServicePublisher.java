package org.vfioosgi.pci.provider;

import java.util.Map;

/** Publishes services; the DS component backs it with its bundle context, tests with a list. */
interface ServicePublisher {

    /** A published service; {@link #close()} withdraws it. */
    interface Publication extends AutoCloseable {
        @Override
        void close();
    }

    <S> Publication publish(Class<S> type, S service, Map<String, Object> properties);
}
