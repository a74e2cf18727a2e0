"""LTI 1.3: login initiation, launch, key sets, and our hardened layer over pylti1p3."""
