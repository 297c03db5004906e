# ctest cuts a test name at ';' (a CMake list separator): a doctest case named with one registers
# under a truncated name that matches no case, runs nothing and passes. This check fails on any.
file(GLOB_RECURSE sources "${TESTS_DIR}/*_test.cpp")
set(bad "")
foreach(f ${sources})
  file(STRINGS "${f}" lines REGEX "TEST_CASE\\(\"[^\"]*;")
  if(lines)
    list(APPEND bad "${f}")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "doctest case names with ';' (ctest would run nothing for them): ${bad}")
endif()
