/**
 * The demo that runs the sample edu driver, inside an OSGi framework ({@link org.vfioosgi.examples.demo.DemoComponent})
 * or on its own ({@link org.vfioosgi.examples.demo.Demo}), migrates a UART's state between two mtty mediated devices
 * in the framework, and its test-rig helpers (QEMU's monitor from inside the test VM). Private to the bundle: not an
 * API.
 */
package org.vfioosgi.examples.demo;
