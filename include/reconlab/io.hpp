#pragma once
/// @file io.hpp
/// Umbrella header for reconlab's file readers and writers: NumPy .npy, BART .cfl/.hdr (and read_array/write_array
/// choosing between them by file name), NIfTI, DICOM and PNG.
#include "reconlab/io/array_file.hpp"
#include "reconlab/io/atomic.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/io/dicom.hpp"
#include "reconlab/io/image_file.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/io/png.hpp"
