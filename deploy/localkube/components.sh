# components.sh: configuration and start of each cluster process, in the order up.sh calls them.
# Every process goes through start_daemon (pidfile + log under $LK_RUN). Sourced by up.sh.
# shellcheck shell=bash

api_readyz() { # exactly "ok": kube-controller-manager exits when started before that
  [ "$(curl -s --max-time 3 --cacert "$LK_PKI/ca.crt" --cert "$LK_PKI/admin.crt" --key "$LK_PKI/admin.key" \
    "https://$NODE_IP:$API_PORT/readyz" 2>/dev/null)" = ok ]
}

start_etcd() {
  mkdir -p "$LK_RUN/etcd"
  chmod 700 "$LK_RUN/etcd"
  # Plain HTTP on loopback: only the API server on this host talks to it.
  start_daemon etcd "$LK_BIN/etcd" \
    --name "$NODE_NAME" --data-dir "$LK_RUN/etcd" \
    --listen-client-urls "$ETCD_CLIENT_URL" --advertise-client-urls "$ETCD_CLIENT_URL" \
    --listen-peer-urls "$ETCD_PEER_URL" --initial-advertise-peer-urls "$ETCD_PEER_URL" \
    --initial-cluster "$NODE_NAME=$ETCD_PEER_URL" --initial-cluster-state new \
    --log-level warn
  wait_for "etcd health" 60 sh -c "curl -sf --max-time 2 $ETCD_CLIENT_URL/health | grep -q '\"health\":\"true\"'"
}

start_apiserver() {
  start_daemon kube-apiserver "$LK_BIN/kube-apiserver" \
    --advertise-address "$NODE_IP" --bind-address "$NODE_IP" --secure-port "$API_PORT" \
    --etcd-servers "$ETCD_CLIENT_URL" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$LK_PKI/ca.crt" \
    --tls-cert-file "$LK_PKI/apiserver.crt" --tls-private-key-file "$LK_PKI/apiserver.key" \
    --kubelet-client-certificate "$LK_PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$LK_PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$LK_PKI/ca.crt" \
    --kubelet-preferred-address-types InternalIP \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$LK_PKI/sa.pub" \
    --service-account-signing-key-file "$LK_PKI/sa.key" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged=true \
    --profiling=false \
    --v=1
  wait_for "kube-apiserver /readyz = ok" 120 api_readyz
}

start_controller_manager() {
  # Pod CIDR comes from the static CNI config, so no node CIDR allocation.
  start_daemon kube-controller-manager "$LK_BIN/kube-controller-manager" \
    --kubeconfig "$LK_RUN/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$LK_RUN/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$LK_RUN/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10257 \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$LK_PKI/sa.key" \
    --root-ca-file "$LK_PKI/ca.crt" \
    --cluster-signing-cert-file "$LK_PKI/ca.crt" --cluster-signing-key-file "$LK_PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --allocate-node-cidrs=false \
    --profiling=false \
    --v=1
}

start_scheduler() {
  start_daemon kube-scheduler "$LK_BIN/kube-scheduler" \
    --kubeconfig "$LK_RUN/scheduler.kubeconfig" \
    --authentication-kubeconfig "$LK_RUN/scheduler.kubeconfig" \
    --authorization-kubeconfig "$LK_RUN/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10259 \
    --leader-elect=false \
    --profiling=false \
    --v=1
}

start_containerd() {
  mkdir -p "$CTRD_ROOT" "$CTRD_STATE" "$LK_RUN/containerd/runc"
  cat > "$LK_RUN/containerd/config.toml" <<EOF
# containerd of localkube: own root, state and socket, so the system's and dockerd's are untouched.
version = 2
root = "$CTRD_ROOT"
state = "$CTRD_STATE"

[grpc]
  address = "$CTRD_SOCK"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$PAUSE_IMAGE"
  # This VM lacks CAP_SYS_RESOURCE: without this every sandbox fails with "runc create failed:
  # ... can't get final child's PID from pipe: EOF" (the kubelet's oom_score_adj is refused).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$LK_RUN/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$LK_RUN/cni/net.d"
    max_conf_num = 1
EOF
  # Images are imported, never pulled: a proxy on a closed loopback port makes any pull attempt
  # (a typo in an image name) fail at once instead of leaving the machine.
  start_daemon containerd env HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
    containerd --config "$LK_RUN/containerd/config.toml"
  wait_for "containerd socket" 30 ctr --address "$CTRD_SOCK" version
}

start_kubelet() {
  mkdir -p "$LK_RUN/kubelet" "$LK_RUN/pod-logs"
  cat > "$LK_RUN/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This host is cgroup v1 (hybrid); kubelet 1.35 refuses v1 unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /localkube
containerRuntimeEndpoint: unix://$CTRD_SOCK
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $LK_PKI/kubelet-server.crt
tlsPrivateKeyFile: $LK_PKI/kubelet-server.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $LK_PKI/ca.crt}
authorization:
  mode: Webhook
clusterDomain: $CLUSTER_DOMAIN
clusterDNS: [$DNS_SVC_IP]
# No host resolv.conf for pods: with dnsPolicy Default they get no resolver, with ClusterFirst
# only CoreDNS (which has no upstream).
resolvConf: ""
podLogsDir: $LK_RUN/pod-logs
serializeImagePulls: false
rotateCertificates: false
failSwapOn: true
maxPods: 110
# A busy 2-core machine: do not evict on the first spike of disk use by other work.
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "2%"
  imagefs.available: "2%"
imageGCHighThresholdPercent: 98
imageGCLowThresholdPercent: 95
EOF
  start_daemon kubelet "$LK_BIN/kubelet" \
    --config "$LK_RUN/kubelet-config.yaml" \
    --kubeconfig "$LK_RUN/kubelet.kubeconfig" \
    --root-dir "$LK_RUN/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --v=1
}

start_kube_proxy() {
  cat > "$LK_RUN/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $LK_RUN/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# NodePorts only on the node address (never on the uplink), and not on localhost (which would
# need route_localnet).
nodePortAddresses: ["$NODE_IP/32"]
iptables:
  localhostNodePorts: false
# Zero: leave the host's conntrack limits and timeouts as they are.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
  start_daemon kube-proxy "$LK_BIN/kube-proxy" --config "$LK_RUN/kube-proxy-config.yaml" --v=1
}

start_local_path_provisioner() {
  # Runs on the host with the admin kubeconfig; its helper pods (mkdir/rm of a volume dir under
  # $LK_RUN/local-path, wiped by down) use our Debian image.
  mkdir -p "$LK_RUN/local-path"
  start_daemon local-path-provisioner "$LK_BIN/local-path-provisioner" start \
    --kubeconfig "$KUBECONFIG_PATH" \
    --namespace local-path-storage \
    --service-account-name default \
    --helper-image "$DEBIAN_IMAGE" \
    --configmap-name local-path-config \
    --provisioner-name rancher.io/local-path
}
