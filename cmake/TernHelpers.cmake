# Shared helpers for tern's module CMakeLists.

set(TERN_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough)
if(TERN_WERROR)
  list(APPEND TERN_WARNINGS -Werror)
endif()

set(TERN_MODULES "" CACHE INTERNAL "")

# tern_add_module(<name> DEPS <targets...> [PUBLIC_LIBS <libs...>] [PRIVATE_LIBS <libs...>])
# Builds every .cpp directly in the folder (sources next to their headers) into the static library
# tern_<name>, aliased tern::<name>, installs its headers under include/tern/<name>.
function(tern_add_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  file(GLOB_RECURSE hdrs CONFIGURE_DEPENDS RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  add_library(tern_${name} STATIC ${srcs})
  add_library(tern::${name} ALIAS tern_${name})
  set_target_properties(tern_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME tern_${name})
  target_include_directories(tern_${name} PUBLIC
    $<BUILD_INTERFACE:${TERN_BUILD_INCLUDE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_options(tern_${name} PRIVATE ${TERN_WARNINGS})
  target_compile_features(tern_${name} PUBLIC cxx_std_20)
  target_link_libraries(tern_${name} PUBLIC ${ARG_DEPS} ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  foreach(h ${hdrs})
    get_filename_component(dir ${h} DIRECTORY)
    install(FILES ${h} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tern/${name}/${dir})
  endforeach()
  install(TARGETS tern_${name} EXPORT ternTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set(TERN_MODULES ${TERN_MODULES} tern_${name} CACHE INTERNAL "")
endfunction()

# Extra compile options for the test programs only (not the libraries they test), e.g. -O0 in the
# sanitizer build of CI: test code is mostly calls into the libraries, and compiling it unoptimised
# with the sanitizers takes a third of the time.
set(TERN_TEST_COMPILE_OPTIONS "" CACHE STRING "Extra compile options for test executables")
# Unity builds of the test programs: each suite's files compiled a few at a time as one translation
# unit, so doctest and tern's headers are parsed once per batch instead of once per file (the test
# files were half of the whole build's compile time). On everywhere, so a name clash between two
# test files shows in every build, not only in CI's; an edit recompiles its file's whole batch.
option(TERN_TEST_UNITY_BUILD "Compile each test suite as unity batches" ON)
set(TERN_TEST_UNITY_BATCH_SIZE 8 CACHE STRING "Test files per unity batch")
set(TERN_TEST_UNITY_EXCLUDE ice_agent_test.cpp turn_server_netsim_test.cpp)

# tern_add_test_suite(<folder> LIBS <targets...>): every tests/<folder>/*_test.cpp becomes one
# doctest executable tern_<folder>_tests, each test case registered with ctest. doctest's main is
# compiled once (tern_doctest_main) and linked into every suite.
function(tern_add_test_suite folder)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${folder}/*_test.cpp)
  if(NOT srcs)
    return()
  endif()
  if(NOT TARGET tern_doctest_main)
    add_library(tern_doctest_main OBJECT ${CMAKE_CURRENT_SOURCE_DIR}/doctest_main.cpp)
    target_link_libraries(tern_doctest_main PRIVATE doctest::doctest)
    target_compile_options(tern_doctest_main PRIVATE ${TERN_WARNINGS} ${TERN_TEST_COMPILE_OPTIONS})
  endif()
  set(exe tern_${folder}_tests)
  add_executable(${exe} $<TARGET_OBJECTS:tern_doctest_main> ${srcs})
  # `tern_all_tests` builds every suite and only what they link: CI's sanitizer stage builds it (and
  # the fuzz targets) instead of `all`, skipping the tool programs no sanitizer-stage test runs.
  if(NOT TARGET tern_all_tests)
    add_custom_target(tern_all_tests)
  endif()
  add_dependencies(tern_all_tests ${exe})
  target_include_directories(${exe} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})  # "support/..." helpers
  target_compile_options(${exe} PRIVATE ${TERN_WARNINGS} ${TERN_TEST_COMPILE_OPTIONS})
  target_link_libraries(${exe} PRIVATE ${ARG_LIBS} doctest::doctest)
  if(TERN_TEST_UNITY_BUILD)
    set_target_properties(${exe} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${TERN_TEST_UNITY_BATCH_SIZE})
    # Files that cannot share a translation unit with their suite's others, compiled alone: the
    # ICE tests on netsim's Internet see both tern::TransportAddress (netsim, icesim) and
    # tern::ice::TransportAddress (the sans-I/O ICE code) under the same using-directives.
    foreach(f ${srcs})
      get_filename_component(n ${f} NAME)
      if(n IN_LIST TERN_TEST_UNITY_EXCLUDE)
        set_source_files_properties(${f} PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
      endif()
    endforeach()
  endif()
  target_compile_definitions(${exe} PRIVATE TERN_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    TERN_BINARY_DIR="${CMAKE_BINARY_DIR}")
  doctest_discover_tests(${exe} TEST_PREFIX "${folder}/" PROPERTIES TIMEOUT 300)
endfunction()
