package config

// MaxDeliveryConcurrency bounds deliveryconfig's system wide maximum
// outbound concurrency (and so the TLS one, which may not exceed it).
const MaxDeliveryConcurrency = 10000

// DeliveryAuto is the delivery interface chosen per destination.
const DeliveryAuto = "Auto"
