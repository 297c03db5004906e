# Installs tern into a scratch prefix and builds a tiny consumer project against it with
# find_package(tern). Skipped in sanitizer builds (the consumer would need the same runtime).
if(NOT TERN_SANITIZE)
  add_test(NAME package/find_package_consumer
    COMMAND ${CMAKE_COMMAND}
      -DTERN_BUILD_DIR=${CMAKE_BINARY_DIR}
      -DCONSUMER_SRC=${CMAKE_SOURCE_DIR}/examples/consumer
      -DWORK_DIR=${CMAKE_BINARY_DIR}/package_test
      -DCXX=${CMAKE_CXX_COMPILER}
      -P ${CMAKE_CURRENT_LIST_DIR}/run_package_test.cmake)
  set_tests_properties(package/find_package_consumer PROPERTIES TIMEOUT 300)
endif()
