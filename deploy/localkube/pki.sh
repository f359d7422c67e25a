# pki.sh: a throwaway PKI for one cluster run (openssl, ECDSA P-256: fast to make, accepted by
# every component) and the kubeconfigs built on it. Everything lands in $LK_PKI and $LK_RUN,
# which down.sh wipes; a new run gets new keys. Sourced by up.sh.
# shellcheck shell=bash

# cert NAME CN [O] [SANS] [ku]: key + certificate signed by the cluster CA.
#   SANS is an openssl subjectAltName value ("IP:1.2.3.4,DNS:x"); ku "server", "client" or both.
pki_cert() {
  local name="$1" cn="$2" org="${3:-}" sans="${4:-}" usage="${5:-client}"
  local dir="$LK_PKI" subj="/CN=$cn"
  [ -z "$org" ] || subj="/O=$org$subj"
  [ -s "$dir/$name.crt" ] && return 0
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key" 2>/dev/null
  local ext="$dir/$name.ext" eku
  case "$usage" in
    server) eku="serverAuth" ;;
    client) eku="clientAuth" ;;
    *) eku="serverAuth,clientAuth" ;;
  esac
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } > "$ext"
  openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# kubeconfig FILE USER CERTNAME: a kubeconfig for USER with the client certificate CERTNAME.
pki_kubeconfig() {
  local file="$1" user="$2" cert="$3"
  cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: localkube
    cluster:
      server: https://$NODE_IP:$API_PORT
      certificate-authority-data: $(base64 -w0 "$LK_PKI/ca.crt")
users:
  - name: $user
    user:
      client-certificate-data: $(base64 -w0 "$LK_PKI/$cert.crt")
      client-key-data: $(base64 -w0 "$LK_PKI/$cert.key")
contexts:
  - name: localkube
    context: {cluster: localkube, user: $user}
current-context: localkube
EOF
  chmod 600 "$file"
}

pki_make_all() {
  mkdir -p "$LK_PKI"
  chmod 700 "$LK_PKI"
  if [ ! -s "$LK_PKI/ca.crt" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$LK_PKI/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$LK_PKI/ca.key" -subj "/CN=localkube-ca" -days 365 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$LK_PKI/ca.crt" 2>/dev/null
  fi
  local api_sans="IP:$NODE_IP,IP:$KUBERNETES_SVC_IP,IP:127.0.0.1,DNS:localhost,DNS:$NODE_NAME,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
  pki_cert apiserver kube-apiserver "" "$api_sans" server
  pki_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  pki_cert admin localkube-admin system:masters
  pki_cert controller-manager system:kube-controller-manager
  pki_cert scheduler system:kube-scheduler
  pki_cert kube-proxy system:kube-proxy
  pki_cert kubelet-client "system:node:$NODE_NAME" system:nodes
  pki_cert kubelet-server "$NODE_NAME" "" "IP:$NODE_IP,DNS:$NODE_NAME" server
  # Service-account token signing key pair.
  if [ ! -s "$LK_PKI/sa.key" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$LK_PKI/sa.key" 2>/dev/null
    openssl ec -in "$LK_PKI/sa.key" -pubout -out "$LK_PKI/sa.pub" 2>/dev/null
  fi
  chmod 600 "$LK_PKI"/*.key
  pki_kubeconfig "$KUBECONFIG_PATH" localkube-admin admin
  pki_kubeconfig "$LK_RUN/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
  pki_kubeconfig "$LK_RUN/scheduler.kubeconfig" system:kube-scheduler scheduler
  pki_kubeconfig "$LK_RUN/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  pki_kubeconfig "$LK_RUN/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet-client
}
