package fcn.reference.caffe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CaffeBackendTest {
  @Test
  void availableInTests() {
    assertTrue(CaffeBackend.available());
    CaffeBackend.require();
  }

  /** The tool's jar has no Caffe: loading the backend classes must work, opening must explain. */
  @Test
  void withoutCaffeOnTheClassPathOpenFailsWithTheFetchHint() throws Exception {
    URL classes = CaffeBackend.class.getProtectionDomain().getCodeSource().getLocation();
    URL protobuf = com.google.protobuf.Message.class.getProtectionDomain().getCodeSource().getLocation();
    try (URLClassLoader noCaffe = new URLClassLoader(new URL[] {classes, protobuf}, ClassLoader.getPlatformClassLoader())) {
      Class<?> backend = Class.forName(CaffeBackend.class.getName(), true, noCaffe);
      assertFalse((Boolean) backend.getMethod("available").invoke(null));
      Throwable e = thrown(backend.getMethod("require"));
      assertEquals("fcn.core.FcnException", e.getClass().getName());
      assertEquals(CaffeBackend.NOT_ON_CLASS_PATH, e.getMessage());

      Class<?> net = Class.forName(CaffeNet.class.getName(), true, noCaffe);
      Throwable open = thrown(net.getMethod("open", Path.class, Path.class), Path.of("x.prototxt"), null);
      assertEquals("fcn.core.FcnException", open.getClass().getName());
      assertTrue(open.getMessage().contains("./fcn"), open.getMessage());
    }
  }

  private static Throwable thrown(Method m, Object... args) throws IllegalAccessException {
    try {
      m.invoke(null, args);
    } catch (InvocationTargetException e) {
      return e.getCause();
    }
    throw new AssertionError(m + " did not throw");
  }
}
