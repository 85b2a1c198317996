"""Where the bundled model becomes vectors: conversion, ONNX export, question and passage encoders, batching."""
