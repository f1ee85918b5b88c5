// MPI's handles for Swift. Open MPI defines MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE and
// the error handlers as macros over addresses of library globals, which Swift cannot import:
// these inline functions return them.
#ifndef CLGRAPH_CMPI_SHIM_H
#define CLGRAPH_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Op cmpi_sum(void) { return MPI_SUM; }
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Info cmpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }

#endif
