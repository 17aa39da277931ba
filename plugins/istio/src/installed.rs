//! What of Istio is installed in the cluster, read through the host. (Being written.)
